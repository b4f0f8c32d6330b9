/**
 * The short exchanges between TCP conversations: DNS lookups, pings, ARP and IPv6 neighbor
 * discovery, and large UDP datagrams that leave the host fragmented. Their few packets are
 * built up front and handed out one at a time.
 */
import { DnsType, EtherType, IpProto } from "../decode/protocols.js";
import { LinkType } from "../types.js";
import { buildDnsQuery, buildDnsResponse } from "./dns.js";
import {
  arrivalTtl,
  chooseIpv6,
  ephemeralPort,
  type Flow,
  type FlowContext,
  flowLink,
  flowTemplates,
  frame,
} from "./flow-context.js";
import { buildArp, buildIpv4, buildIpv6, fragmentIpv4, fragmentIpv6 } from "./ip.js";
import { SERVER_NAMES } from "./network.js";
import { emitRaw, emitUdp } from "./template.js";
import {
  buildIcmpEcho,
  buildIcmpv6Echo,
  buildIcmpv6NeighborAdvertisement,
  buildIcmpv6NeighborSolicitation,
  buildUdp,
  solicitedNodeMulticast,
} from "./transport.js";

/** A flow whose packets are all known in advance. */
export class QueuedFlow implements Flow {
  private i = 0;
  constructor(private readonly packets: Buffer[]) {}
  next(): Buffer | null {
    const p = this.packets[this.i];
    if (p === undefined) return null;
    this.i++;
    return p;
  }
}

const EXTRA_NAMES = ["ocsp.example.com", "time.example.org", "wpad.corp.example", "printer.corp.example"];

/** A lookup of a server name (A or AAAA) at the resolver, and its answer (sometimes NXDOMAIN). */
export function dnsFlow(ctx: FlowContext): Flow {
  const rng = ctx.rng;
  const net = ctx.net;
  const client = rng.pick(net.hosts);
  const v6 = chooseIpv6(ctx);
  const link = flowLink(ctx, client, net.resolver);
  const [up, down] = flowTemplates(
    ctx,
    link,
    v6 ? client.ipv6 : client.ipv4,
    v6 ? net.resolver.ipv6 : net.resolver.ipv4,
    IpProto.UDP,
    64,
  );
  const packets: Buffer[] = [];
  const port = ephemeralPort(ctx);
  const types = rng.chance(0.4) ? [DnsType.A, DnsType.AAAA] : [rng.chance(0.7) ? DnsType.A : DnsType.AAAA];
  const known = rng.chance(0.95);
  const name = known ? rng.pick(SERVER_NAMES) : rng.pick(EXTRA_NAMES);
  const server = net.servers.find((s) => s.name === name);
  for (const type of types) {
    const id = rng.int(0x10000);
    packets.push(emitUdp(up, port, 53, buildDnsQuery({ id, name, type })));
    const answers = server === undefined ? [] : [type === DnsType.A ? server.ipv4 : server.ipv6];
    const rcode = server === undefined ? 3 : 0;
    packets.push(emitUdp(down, 53, port, buildDnsResponse({ id, name, type, answers, rcode })));
  }
  return new QueuedFlow(packets);
}

/** One to four echo requests to a server or gateway, each answered. */
export function pingFlow(ctx: FlowContext): Flow {
  const rng = ctx.rng;
  const net = ctx.net;
  const client = rng.pick(net.hosts);
  const v6 = chooseIpv6(ctx);
  const server = rng.pick(net.servers);
  const link = flowLink(ctx, client, null);
  const a = v6 ? client.ipv6 : client.ipv4;
  const b = v6 ? server.ipv6 : server.ipv4;
  const [up, down] = flowTemplates(ctx, link, a, b, v6 ? IpProto.ICMPV6 : IpProto.ICMP, arrivalTtl(ctx));
  const id = rng.int(0x10000);
  const packets: Buffer[] = [];
  for (let seq = 1, n = rng.range(1, 4); seq <= n; seq++) {
    const payload = Buffer.alloc(56);
    rng.fill(payload, 0, 8);
    for (let i = 8; i < 56; i++) payload[i] = i + 8;
    if (v6) {
      packets.push(emitRaw(up, buildIcmpv6Echo({ src: a, dst: b, id, seq, payload })));
      packets.push(emitRaw(down, buildIcmpv6Echo({ src: b, dst: a, id, seq, payload, reply: true })));
    } else {
      packets.push(emitRaw(up, buildIcmpEcho({ id, seq, payload })));
      packets.push(emitRaw(down, buildIcmpEcho({ id, seq, payload, reply: true })));
    }
  }
  return new QueuedFlow(packets);
}

/** A host resolving its gateway: ARP who-has and is-at, or IPv6 neighbor solicitation and advertisement. */
export function neighborFlow(ctx: FlowContext): Flow {
  const rng = ctx.rng;
  const net = ctx.net;
  const client = rng.pick(net.hosts);
  const subnet = net.subnets[client.subnet];
  const gwMac = subnet?.gatewayMac ?? client.mac;
  const v6 = chooseIpv6(ctx);
  const arpOk =
    ctx.linkType === LinkType.ETHERNET ||
    ctx.linkType === LinkType.LINUX_SLL ||
    ctx.linkType === LinkType.LINUX_SLL2;
  if (!v6 && arpOk) {
    const gw = Buffer.from(client.ipv4);
    gw[3] = 1;
    const bcast = flowLink(ctx, client, null);
    bcast.macs[1] = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const unicast = { macs: [client.mac, gwMac] as [Buffer, Buffer], vlans: bcast.vlans };
    const request = buildArp({ op: "request", senderMac: client.mac, senderIp: client.ipv4, targetIp: gw });
    const reply = buildArp({
      op: "reply",
      senderMac: gwMac,
      senderIp: gw,
      targetMac: client.mac,
      targetIp: client.ipv4,
    });
    return new QueuedFlow([
      frame(ctx, bcast, 0, request, EtherType.ARP),
      frame(ctx, unicast, 1, reply, EtherType.ARP),
    ]);
  }
  if (!v6) return pingFlow(ctx);
  const gw = Buffer.from(client.ipv6);
  gw.fill(0, 8, 15);
  gw[15] = 1;
  const multicast = solicitedNodeMulticast(gw);
  const mmac = Buffer.from([0x33, 0x33, 0xff, gw[13] ?? 0, gw[14] ?? 0, gw[15] ?? 0]);
  const link = flowLink(ctx, client, null);
  const ns = buildIcmpv6NeighborSolicitation({ src: client.ipv6, target: gw, sourceMac: client.mac });
  const na = buildIcmpv6NeighborAdvertisement({
    src: gw,
    dst: client.ipv6,
    target: gw,
    targetMac: gwMac,
    router: true,
  });
  const nsIp = buildIpv6({
    src: client.ipv6,
    dst: multicast,
    nextHeader: IpProto.ICMPV6,
    hopLimit: 255,
    payload: ns,
  });
  const naIp = buildIpv6({
    src: gw,
    dst: client.ipv6,
    nextHeader: IpProto.ICMPV6,
    hopLimit: 255,
    payload: na,
  });
  const toMulticast = { macs: [client.mac, mmac] as [Buffer, Buffer], vlans: link.vlans };
  const back = { macs: [client.mac, gwMac] as [Buffer, Buffer], vlans: link.vlans };
  return new QueuedFlow([frame(ctx, toMulticast, 0, nsIp), frame(ctx, back, 1, naIp)]);
}

/** A syslog datagram too large for the MTU, sent as IPv4 (or IPv6) fragments to the log server. */
export function fragmentFlow(ctx: FlowContext): Flow {
  const rng = ctx.rng;
  const net = ctx.net;
  const client = rng.pick(net.hosts);
  const server = net.internalServers[1] ?? net.resolver;
  const v6 = chooseIpv6(ctx);
  const link = flowLink(ctx, client, server);
  const text = `<134>1 2024-01-01T00:00:00Z host${client.ipv4[3]} app ${rng.u32()} - - `;
  const size = rng.range(1600, 6000);
  const payload = Buffer.alloc(size, "lorem ipsum dolor sit amet ");
  payload.write(text, 0, "latin1");
  const src = v6 ? client.ipv6 : client.ipv4;
  const dst = v6 ? server.ipv6 : server.ipv4;
  const udp = buildUdp({ src, dst, srcPort: ephemeralPort(ctx), dstPort: 514, payload });
  const id = rng.u32();
  const fragments = v6
    ? fragmentIpv6(buildIpv6({ src, dst, nextHeader: IpProto.UDP, payload: udp }), 1280, id)
    : fragmentIpv4(buildIpv4({ src, dst, protocol: IpProto.UDP, payload: udp, id }), 1500);
  return new QueuedFlow(fragments.map((f) => frame(ctx, link, 0, f)));
}
