/**
 * Link-layer builders: Ethernet II with 802.1Q / QinQ tags, and the encapsulations of every
 * LinkType the engine reads (Linux cooked v1/v2, BSD NULL/LOOP, raw IP).
 */
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { BsdAf, EtherType } from "../decode/protocols.js";
import { LinkType } from "../types.js";
import { type MacInput, parseMac } from "./address.js";

/** One VLAN tag. */
export interface VlanTag {
  /** VLAN id, 0..4095. */
  id: number;
  /** Priority code point, 0..7 (default 0). */
  pcp?: number;
  /** Drop eligible indicator (default false). */
  dei?: boolean;
  /** Tag protocol id; default 0x88a8 for the outer of two tags, else 0x8100. */
  tpid?: number;
}

/** Fields of an Ethernet II frame. */
export interface EthernetOptions {
  /** Destination MAC (default broadcast). */
  dst?: MacInput;
  /** Source MAC (default 02:00:00:00:00:01). */
  src?: MacInput;
  /** EtherType of the payload; inferred from the IP version nibble when absent. */
  etherType?: number;
  /** Tags from outermost to innermost: one for 802.1Q, two for QinQ (802.1ad + 802.1Q). */
  vlans?: readonly VlanTag[];
  /** The frame payload (an IP packet, an ARP message...). */
  payload: Uint8Array;
  /** Pad to the 60-byte Ethernet minimum (without FCS), as a frame received from the wire is. */
  pad?: boolean;
}

/** Default source MAC of the builders: a locally administered address. */
export const DEFAULT_MAC = "02:00:00:00:00:01";
const BROADCAST = "ff:ff:ff:ff:ff:ff";

/** EtherType for an IP packet from its version nibble; throws for anything else. */
export function etherTypeOf(packet: Uint8Array): number {
  const version = (packet[0] ?? 0) >>> 4;
  if (version === 4) return EtherType.IPV4;
  if (version === 6) return EtherType.IPV6;
  throw new AppError(ErrorCode.InvalidArgument, "cannot infer the EtherType: payload is not IPv4 or IPv6");
}

/** Length of the link header {@link buildEthernet} writes for `vlanCount` tags. */
export function ethernetHeaderLength(vlanCount: number): number {
  return 14 + 4 * vlanCount;
}

/** Builds an Ethernet II frame (no FCS, like captures carry it). */
export function buildEthernet(o: EthernetOptions): Buffer {
  const vlans = o.vlans ?? [];
  const hdr = ethernetHeaderLength(vlans.length);
  const len = Math.max(hdr + o.payload.length, o.pad === true ? 60 : 0);
  const out = Buffer.alloc(len);
  parseMac(o.dst ?? BROADCAST).copy(out, 0);
  parseMac(o.src ?? DEFAULT_MAC).copy(out, 6);
  let p = 12;
  vlans.forEach((tag, i) => {
    const tpid = tag.tpid ?? (vlans.length > 1 && i === 0 ? EtherType.QINQ : EtherType.VLAN);
    out.writeUInt16BE(tpid, p);
    out.writeUInt16BE(
      (((tag.pcp ?? 0) & 7) << 13) | (tag.dei === true ? 0x1000 : 0) | (tag.id & 0xfff),
      p + 2,
    );
    p += 4;
  });
  out.writeUInt16BE(o.etherType ?? etherTypeOf(o.payload), p);
  out.set(o.payload, hdr);
  return out;
}

/** Options of {@link encapsulate}: what each link header needs besides the L3 packet. */
export interface EncapsulationOptions {
  /** EtherType / protocol of the payload; inferred from the IP version when absent. */
  etherType?: number;
  /** Ethernet source MAC, also the link address of SLL headers. */
  src?: MacInput;
  /** Ethernet destination MAC. */
  dst?: MacInput;
  /** VLAN tags (Ethernet only). */
  vlans?: readonly VlanTag[];
  /** Ethernet: pad to 60 bytes. */
  pad?: boolean;
  /** SLL/SLL2 packet type: 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 outgoing (default 0). */
  packetType?: number;
  /** SLL2 interface index (default 1). */
  ifIndex?: number;
  /** Address family a NULL/LOOP header gives IPv6: 24 (Net/OpenBSD), 28 (FreeBSD), 30 (Darwin). Default 24. */
  bsdInet6?: number;
}

/** Wraps an L3 packet in the link header of `linkType`. */
export function encapsulate(linkType: number, l3: Uint8Array, o: EncapsulationOptions = {}): Buffer {
  const etherType = o.etherType ?? etherTypeOf(l3);
  if (linkType === LinkType.ETHERNET) return buildEthernet({ ...o, etherType, payload: l3 });
  const hdr = linkHeader(linkType, etherType, o);
  const out = Buffer.allocUnsafe(hdr.length + l3.length);
  hdr.copy(out, 0);
  out.set(l3, hdr.length);
  return out;
}

/**
 * The link header bytes of `linkType` for a payload of `etherType` (without the payload),
 * the template the traffic generator copies in front of every packet of a flow.
 */
export function linkHeader(linkType: number, etherType: number, o: EncapsulationOptions = {}): Buffer {
  const ipv6 = etherType === EtherType.IPV6;
  const ipv4 = etherType === EtherType.IPV4;
  switch (linkType) {
    case LinkType.ETHERNET:
      return buildEthernet({ ...o, etherType, payload: Buffer.alloc(0), pad: false });
    case LinkType.LINUX_SLL: {
      const h = Buffer.alloc(16);
      h.writeUInt16BE(o.packetType ?? 0, 0);
      h.writeUInt16BE(1, 2); // ARPHRD_ETHER
      h.writeUInt16BE(6, 4);
      parseMac(o.src ?? DEFAULT_MAC).copy(h, 6);
      h.writeUInt16BE(etherType, 14);
      return h;
    }
    case LinkType.LINUX_SLL2: {
      const h = Buffer.alloc(20);
      h.writeUInt16BE(etherType, 0);
      h.writeUInt32BE(o.ifIndex ?? 1, 4);
      h.writeUInt16BE(1, 8); // ARPHRD_ETHER
      h[10] = o.packetType ?? 0;
      h[11] = 6;
      parseMac(o.src ?? DEFAULT_MAC).copy(h, 12);
      return h;
    }
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (!ipv4 && !ipv6) throw unsupported(linkType, etherType);
      const family = ipv4 ? BsdAf.INET : (o.bsdInet6 ?? BsdAf.INET6_BSD);
      const h = Buffer.alloc(4);
      // NULL carries the family in the capturing host's byte order (little-endian here), LOOP in network order.
      if (linkType === LinkType.NULL) h.writeUInt32LE(family, 0);
      else h.writeUInt32BE(family, 0);
      return h;
    }
    case LinkType.RAW:
      if (!ipv4 && !ipv6) throw unsupported(linkType, etherType);
      return Buffer.alloc(0);
    case LinkType.IPV4:
      if (!ipv4) throw unsupported(linkType, etherType);
      return Buffer.alloc(0);
    case LinkType.IPV6:
      if (!ipv6) throw unsupported(linkType, etherType);
      return Buffer.alloc(0);
    default:
      throw new AppError(ErrorCode.InvalidArgument, `link type ${linkType} is not supported by the builder`);
  }
}

function unsupported(linkType: number, etherType: number): AppError {
  return new AppError(
    ErrorCode.InvalidArgument,
    `link type ${linkType} cannot carry EtherType 0x${etherType.toString(16).padStart(4, "0")}`,
  );
}

/** Whether `linkType` can carry a payload of `etherType` (ARP needs Ethernet or Linux cooked). */
export function linkCarries(linkType: number, etherType: number): boolean {
  switch (linkType) {
    case LinkType.ETHERNET:
    case LinkType.LINUX_SLL:
    case LinkType.LINUX_SLL2:
      return true;
    case LinkType.NULL:
    case LinkType.LOOP:
    case LinkType.RAW:
      return etherType === EtherType.IPV4 || etherType === EtherType.IPV6;
    case LinkType.IPV4:
      return etherType === EtherType.IPV4;
    case LinkType.IPV6:
      return etherType === EtherType.IPV6;
    default:
      return false;
  }
}
