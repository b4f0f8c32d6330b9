/**
 * What every generated flow shares: the random stream, the payload pool, the network, and
 * how to put a flow's packets on the chosen link (MACs, VLAN tags, cooked-header direction).
 */
import { EtherType } from "../decode/protocols.js";
import { LinkType } from "../types.js";
import { encapsulate, linkHeader, type VlanTag } from "./link.js";
import type { Host, Network } from "./network.js";
import type { PayloadPool } from "./payload-pool.js";
import type { Prng } from "./prng.js";
import { PacketTemplate } from "./template.js";

/** Shared state of one traffic generator run. */
export interface FlowContext {
  readonly rng: Prng;
  readonly pool: PayloadPool;
  readonly net: Network;
  readonly linkType: number;
  readonly vlanShare: number;
  readonly ipv6Share: number;
}

/** One generated conversation; `next` returns its next packet, or null once it has ended. */
export interface Flow {
  next(): Buffer | null;
}

/** Direction inside a flow: 0 client to server, 1 server to client. */
export type Dir = 0 | 1;

/** Link identity of a flow: the source MAC of each direction and the VLAN tags. */
export interface FlowLink {
  /** macs[d] is the source MAC of direction d; the destination is macs[1 - d]. */
  macs: [Buffer, Buffer];
  vlans: VlanTag[];
}

/** Chooses the IP version of a new flow within what the link type can carry. */
export function chooseIpv6(ctx: FlowContext): boolean {
  if (ctx.linkType === LinkType.IPV6) return true;
  if (ctx.linkType === LinkType.IPV4) return false;
  return ctx.rng.chance(ctx.ipv6Share);
}

/**
 * Link identity for a flow from `client` to a peer: on-link peers are reached by their own
 * MAC, everything else through the client's subnet gateway. Some flows are VLAN tagged,
 * a fifth of those QinQ (a provider tag around the subnet's tag).
 */
export function flowLink(ctx: FlowContext, client: Host, peer: Host | null): FlowLink {
  const subnet = ctx.net.subnets[client.subnet];
  const gateway = subnet === undefined ? client.mac : subnet.gatewayMac;
  const peerMac = peer !== null && peer.subnet === client.subnet ? peer.mac : gateway;
  const vlans: VlanTag[] = [];
  if (ctx.linkType === LinkType.ETHERNET && subnet !== undefined && ctx.rng.chance(ctx.vlanShare)) {
    if (ctx.rng.chance(0.2)) vlans.push({ id: 1000 + (client.subnet % 8) });
    vlans.push({ id: subnet.vlan, pcp: ctx.rng.chance(0.3) ? 5 : 0 });
  }
  return { macs: [client.mac, peerMac], vlans };
}

/** The link header of direction `dir` of a flow. */
export function flowLinkHeader(ctx: FlowContext, link: FlowLink, dir: Dir, etherType: number): Buffer {
  return linkHeader(ctx.linkType, etherType, {
    src: link.macs[dir],
    dst: link.macs[dir === 0 ? 1 : 0],
    vlans: link.vlans,
    packetType: dir === 0 ? 4 : 0,
  });
}

/** Wraps an L3 packet of direction `dir` on the generator's link (for the rarer, hand-built packets). */
export function frame(
  ctx: FlowContext,
  link: FlowLink,
  dir: Dir,
  l3: Uint8Array,
  etherType?: number,
): Buffer {
  return encapsulate(ctx.linkType, l3, {
    src: link.macs[dir],
    dst: link.macs[dir === 0 ? 1 : 0],
    vlans: link.vlans,
    packetType: dir === 0 ? 4 : 0,
    pad: true,
    ...(etherType === undefined ? {} : { etherType }),
  });
}

/** Header templates of both directions of a flow between `a` (client) and `b` (server) addresses. */
export function flowTemplates(
  ctx: FlowContext,
  link: FlowLink,
  a: Buffer,
  b: Buffer,
  protocol: number,
  serverTtl: number,
): [PacketTemplate, PacketTemplate] {
  const rng = ctx.rng;
  const etherType = a.length === 16 ? EtherType.IPV6 : EtherType.IPV4;
  const pad60 = ctx.linkType === LinkType.ETHERNET;
  const make = (dir: Dir, src: Buffer, dst: Buffer, ttl: number): PacketTemplate =>
    new PacketTemplate({
      link: flowLinkHeader(ctx, link, dir, etherType),
      src,
      dst,
      protocol,
      ttl,
      ipId: rng.u32(),
      flowLabel: rng.u32(),
      dontFragment: true,
      pad60,
    });
  return [make(0, a, b, 64), make(1, b, a, serverTtl)];
}

/** TTL of a server's packets as they arrive: 64 or 128 minus a few hops. */
export function arrivalTtl(ctx: FlowContext): number {
  return (ctx.rng.chance(0.8) ? 64 : 128) - ctx.rng.range(1, 20);
}

/** An ephemeral client port in the Linux default range. */
export function ephemeralPort(ctx: FlowContext): number {
  return ctx.rng.range(32768, 60999);
}
