/**
 * The simulated network the traffic generator draws endpoints from: internal hosts spread
 * over a few IPv4 /24 and IPv6 /64 subnets (each with a gateway and a VLAN id), a DNS
 * resolver, internal SSH/MySQL servers, and external named servers on documentation prefixes.
 */
import { parseIpv4, parseIpv6 } from "./address.js";
import { Prng } from "./prng.js";

/** One internal subnet. */
export interface Subnet {
  /** "10.N.S.0/24". */
  ipv4Cidr: string;
  /** "fd00:N:0:S::/64". */
  ipv6Cidr: string;
  /** VLAN id its traffic carries when tagged. */
  vlan: number;
  /** Gateway MAC: the next hop of traffic that leaves the subnet. */
  gatewayMac: Buffer;
}

/** An internal host. */
export interface Host {
  ipv4: Buffer;
  ipv6: Buffer;
  mac: Buffer;
  /** Index into {@link Network.subnets}. */
  subnet: number;
}

/** An external server reached by name. */
export interface Server {
  name: string;
  ipv4: Buffer;
  ipv6: Buffer;
}

/** Everything the generator needs to pick realistic endpoints. */
export interface Network {
  subnets: Subnet[];
  /** Clients (the resolver and internal servers are listed separately). */
  hosts: Host[];
  resolver: Host;
  /** Internal servers for SSH and MySQL. */
  internalServers: Host[];
  servers: Server[];
}

/** Options of {@link createNetwork}. */
export interface NetworkOptions {
  seed: number;
  /** Number of client hosts (default 40; at most 155 per subnet). */
  hosts: number;
  /** Number of subnets (default 4, at most 200). */
  subnets: number;
}

/** Names the external servers answer to (all under reserved example domains). */
export const SERVER_NAMES: readonly string[] = [
  "www.example.com",
  "api.example.com",
  "login.example.com",
  "cdn.example.net",
  "static.example.net",
  "video.example.net",
  "updates.example.org",
  "telemetry.example.org",
  "mail.example.org",
  "docs.example.com",
  "shop.example.net",
  "news.example.org",
  "git.example.com",
  "pkg.example.net",
  "chat.example.org",
  "images.example.com",
];

/** Second octet (and IPv6 group) of the internal prefixes: derived from the seed so sensors differ. */
export function siteNumber(seed: number): number {
  return 1 + ((seed >>> 0) % 250);
}

function mac(rng: Prng): Buffer {
  const b = rng.bytes(6);
  b[0] = ((b[0] as number) & 0xfc) | 0x02; // locally administered, unicast
  return b;
}

/** Builds the simulated network for `seed`: same seed, same addresses. */
export function createNetwork(o: NetworkOptions): Network {
  const rng = new Prng(o.seed ^ 0x5eed);
  const site = siteNumber(o.seed);
  const count = Math.max(1, Math.min(200, o.subnets));
  const subnets: Subnet[] = [];
  for (let s = 0; s < count; s++) {
    subnets.push({
      ipv4Cidr: `10.${site}.${s}.0/24`,
      ipv6Cidr: `fd00:${site.toString(16)}:0:${s.toString(16)}::/64`,
      vlan: 100 + s,
      gatewayMac: mac(rng),
    });
  }
  const makeHost = (subnet: number, last: number): Host => ({
    ipv4: parseIpv4(`10.${site}.${subnet}.${last}`),
    ipv6: parseIpv6(`fd00:${site.toString(16)}:0:${subnet.toString(16)}::${last.toString(16)}`),
    mac: mac(rng),
    subnet,
  });
  // Clients take .100-.254 of each subnet, clear of the gateway (.1) and the servers below.
  const hosts: Host[] = [];
  const hostCount = Math.max(2, Math.min(o.hosts, count * 155));
  for (let i = 0; i < hostCount; i++) {
    const subnet = i % count;
    hosts.push(makeHost(subnet, 100 + Math.floor(i / count)));
  }
  const resolver = makeHost(0, 53);
  const internalServers = [makeHost(0, 22), makeHost(count > 1 ? 1 : 0, 33)];
  const servers = SERVER_NAMES.map((name, i) => {
    const nets = ["192.0.2", "198.51.100", "203.0.113"];
    return {
      name,
      ipv4: parseIpv4(`${nets[i % 3]}.${10 + i * 7}`),
      ipv6: parseIpv6(`2001:db8:${(i + 1).toString(16)}::${(10 + i).toString(16)}`),
    };
  });
  return { subnets, hosts, resolver, internalServers, servers };
}
