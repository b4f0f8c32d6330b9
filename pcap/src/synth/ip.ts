/**
 * Network-layer builders: IPv4 (options, fragmentation), IPv6 (extension headers,
 * fragmentation) and ARP.
 */
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { IpProto } from "../decode/protocols.js";
import { type IpInput, type MacInput, parseIp, parseMac } from "./address.js";
import { internetChecksum } from "./checksum.js";

/** Fields of an IPv4 packet. */
export interface Ipv4Options {
  src: IpInput;
  dst: IpInput;
  /** IP protocol of the payload (6 TCP, 17 UDP, 1 ICMP...). */
  protocol: number;
  payload: Uint8Array;
  /** Default 64. */
  ttl?: number;
  /** DSCP/ECN byte (default 0). */
  tos?: number;
  /** Identification (default 0). */
  id?: number;
  /** DF flag (default false). */
  dontFragment?: boolean;
  /** MF flag (default false). */
  moreFragments?: boolean;
  /** Fragment offset in bytes, a multiple of 8 (default 0). */
  fragmentOffset?: number;
  /** Raw option bytes; padded with End-of-Options to a multiple of 4. */
  options?: Uint8Array;
}

/** Builds an IPv4 packet with a correct header checksum. */
export function buildIpv4(o: Ipv4Options): Buffer {
  const src = parseIp(o.src);
  const dst = parseIp(o.dst);
  if (src.length !== 4 || dst.length !== 4) throw invalid("IPv4 packet needs IPv4 addresses");
  const optLen = o.options === undefined ? 0 : (o.options.length + 3) & ~3;
  const ihl = 20 + optLen;
  if (ihl > 60) throw invalid("IPv4 options longer than 40 bytes");
  const fragOff = o.fragmentOffset ?? 0;
  if (fragOff % 8 !== 0 || fragOff > 0xfff8)
    throw invalid("fragment offset must be a multiple of 8 below 65536");
  const total = ihl + o.payload.length;
  if (total > 0xffff) throw invalid("IPv4 packet longer than 65535 bytes");
  const out = Buffer.alloc(total);
  out[0] = 0x40 | (ihl >>> 2);
  out[1] = o.tos ?? 0;
  out.writeUInt16BE(total, 2);
  out.writeUInt16BE((o.id ?? 0) & 0xffff, 4);
  const flags = (o.dontFragment === true ? 0x4000 : 0) | (o.moreFragments === true ? 0x2000 : 0);
  out.writeUInt16BE(flags | (fragOff >>> 3), 6);
  out[8] = o.ttl ?? 64;
  out[9] = o.protocol;
  src.copy(out, 12);
  dst.copy(out, 16);
  if (o.options !== undefined) out.set(o.options, 20);
  out.writeUInt16BE(internetChecksum(out, 0, ihl), 10);
  out.set(o.payload, ihl);
  return out;
}

/**
 * Splits a complete IPv4 packet into fragments no longer than `mtu` bytes (RFC 791 3.2):
 * payload split on 8-byte boundaries, MF on all but the last, options copied to later
 * fragments only when their copied bit is set. A packet that fits is returned alone.
 */
export function fragmentIpv4(packet: Uint8Array, mtu: number): Buffer[] {
  const buf = Buffer.from(packet.buffer, packet.byteOffset, packet.length);
  const ihl = ((buf[0] ?? 0) & 0x0f) * 4;
  const total = buf.readUInt16BE(2);
  if (total <= mtu) return [Buffer.from(buf.subarray(0, total))];
  const frag = buf.readUInt16BE(6);
  if ((frag & 0x4000) !== 0) throw invalid("packet has DF set");
  const baseOffset = (frag & 0x1fff) * 8;
  const lastHasMore = (frag & 0x2000) !== 0;
  const firstOptions = buf.subarray(20, ihl);
  const laterOptions = copiedOptions(firstOptions);
  const payload = buf.subarray(ihl, total);
  const out: Buffer[] = [];
  for (let pos = 0; pos < payload.length; ) {
    const opts = pos === 0 ? firstOptions : laterOptions;
    const hdr = 20 + ((opts.length + 3) & ~3);
    const room = (mtu - hdr) & ~7;
    if (room <= 0) throw invalid(`MTU ${mtu} is too small to fragment`);
    const len = Math.min(room, payload.length - pos);
    const more = pos + len < payload.length || lastHasMore;
    out.push(
      buildIpv4({
        src: buf.subarray(12, 16),
        dst: buf.subarray(16, 20),
        protocol: buf[9] ?? 0,
        payload: payload.subarray(pos, pos + len),
        ttl: buf[8] ?? 64,
        tos: buf[1] ?? 0,
        id: buf.readUInt16BE(4),
        moreFragments: more,
        fragmentOffset: baseOffset + pos,
        ...(opts.length > 0 ? { options: opts } : {}),
      }),
    );
    pos += len;
  }
  return out;
}

/** The options of a first fragment that later fragments repeat (type byte has the copied bit). */
function copiedOptions(options: Buffer): Buffer {
  const kept: number[] = [];
  for (let i = 0; i < options.length; ) {
    const type = options[i] ?? 0;
    if (type === 0) break;
    if (type === 1) {
      i++;
      continue;
    }
    const len = options[i + 1] ?? 0;
    if (len < 2) break;
    if ((type & 0x80) !== 0) for (let j = 0; j < len; j++) kept.push(options[i + j] ?? 0);
    i += len;
  }
  return Buffer.from(kept);
}

/** One IPv6 extension header, in the order it appears in the packet. */
export type Ipv6Extension =
  | { type: "hop-by-hop" | "destination" /** TLV options; padded with Pad1/PadN. */; options?: Uint8Array }
  | {
      type: "routing";
      /** Routing type (default 0, whose layout types 2 and 3 share: 4 reserved bytes, then addresses). */
      routingType?: number;
      /** Segments left (default 0; when not 0, checksums must use the final address as destination). */
      segmentsLeft?: number;
      addresses?: readonly IpInput[];
    }
  | { type: "fragment" /** Offset in bytes, multiple of 8. */; offset?: number; more?: boolean; id?: number };

/** Fields of an IPv6 packet. */
export interface Ipv6Options {
  src: IpInput;
  dst: IpInput;
  /** Protocol of the payload after the extension headers (6, 17, 58...). */
  nextHeader: number;
  payload: Uint8Array;
  /** Default 64. */
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  extensions?: readonly Ipv6Extension[];
}

const extNumber = {
  "hop-by-hop": IpProto.HOPOPTS,
  destination: IpProto.DSTOPTS,
  routing: IpProto.ROUTING,
  fragment: IpProto.FRAGMENT,
} as const;

/** Builds an IPv6 packet, chaining the extension headers' next-header fields. */
export function buildIpv6(o: Ipv6Options): Buffer {
  const src = parseIp(o.src);
  const dst = parseIp(o.dst);
  if (src.length !== 16 || dst.length !== 16) throw invalid("IPv6 packet needs IPv6 addresses");
  const exts = o.extensions ?? [];
  const bodies = exts.map((e, i) => {
    const next = i + 1 < exts.length ? extNumber[(exts[i + 1] as Ipv6Extension).type] : o.nextHeader;
    return extensionBytes(e, next);
  });
  const extLen = bodies.reduce((n, b) => n + b.length, 0);
  const payloadLen = extLen + o.payload.length;
  if (payloadLen > 0xffff) throw invalid("IPv6 payload longer than 65535 bytes (jumbograms unsupported)");
  const out = Buffer.alloc(40 + payloadLen);
  out.writeUInt32BE(
    ((6 << 28) | (((o.trafficClass ?? 0) & 0xff) << 20) | ((o.flowLabel ?? 0) & 0xfffff)) >>> 0,
    0,
  );
  out.writeUInt16BE(payloadLen, 4);
  out[6] = exts.length > 0 ? extNumber[(exts[0] as Ipv6Extension).type] : o.nextHeader;
  out[7] = o.hopLimit ?? 64;
  src.copy(out, 8);
  dst.copy(out, 24);
  let p = 40;
  for (const b of bodies) {
    b.copy(out, p);
    p += b.length;
  }
  out.set(o.payload, p);
  return out;
}

function extensionBytes(e: Ipv6Extension, next: number): Buffer {
  switch (e.type) {
    case "fragment": {
      const b = Buffer.alloc(8);
      b[0] = next;
      const off = e.offset ?? 0;
      if (off % 8 !== 0 || off > 0xfff8) throw invalid("fragment offset must be a multiple of 8 below 65536");
      b.writeUInt16BE(off | (e.more === true ? 1 : 0), 2);
      b.writeUInt32BE((e.id ?? 0) >>> 0, 4);
      return b;
    }
    case "routing": {
      const addrs = (e.addresses ?? []).map(parseIp);
      const b = Buffer.alloc(8 + 16 * addrs.length);
      b[0] = next;
      b[1] = (b.length >>> 3) - 1;
      b[2] = e.routingType ?? 0;
      b[3] = e.segmentsLeft ?? 0;
      addrs.forEach((a, i) => {
        a.copy(b, 8 + 16 * i);
      });
      return b;
    }
    default: {
      const opts = e.options ?? new Uint8Array(0);
      const len = (2 + opts.length + 7) & ~7;
      const b = Buffer.alloc(len);
      b[0] = next;
      b[1] = (len >>> 3) - 1;
      b.set(opts, 2);
      const pad = len - 2 - opts.length;
      // RFC 8200 4.2: one Pad1 byte, or a PadN option covering the rest.
      if (pad >= 2) {
        b[2 + opts.length] = 1;
        b[3 + opts.length] = pad - 2;
      }
      return b;
    }
  }
}

/** Builds IPv4 or IPv6 depending on the address family of `src`. */
export function buildIp(o: {
  src: IpInput;
  dst: IpInput;
  protocol: number;
  payload: Uint8Array;
  ttl?: number;
  id?: number;
}): Buffer {
  const src = parseIp(o.src);
  if (src.length === 4) return buildIpv4(o);
  return buildIpv6({
    src,
    dst: o.dst,
    nextHeader: o.protocol,
    payload: o.payload,
    ...(o.ttl === undefined ? {} : { hopLimit: o.ttl }),
  });
}

/**
 * Splits a complete IPv6 packet into fragments no longer than `mtu` (RFC 8200 4.5): the
 * per-fragment part (header, hop-by-hop, routing and the options before it) is repeated,
 * a Fragment header with `id` is inserted after it, and the rest is split on 8-byte boundaries.
 */
export function fragmentIpv6(packet: Uint8Array, mtu: number, id: number): Buffer[] {
  const buf = Buffer.from(packet.buffer, packet.byteOffset, packet.length);
  const end = 40 + buf.readUInt16BE(4);
  // Find where the fragmentable part starts: after the last of hop-by-hop / routing.
  let next = buf[6] ?? 0;
  let p = 40;
  let unfragEnd = 40;
  let unfragNextAt = 6;
  while (next === IpProto.HOPOPTS || next === IpProto.ROUTING || next === IpProto.DSTOPTS) {
    const len = ((buf[p + 1] ?? 0) + 1) * 8;
    if (next !== IpProto.DSTOPTS) {
      unfragEnd = p + len;
      unfragNextAt = p;
    }
    next = buf[p] ?? 0;
    p += len;
  }
  const unfrag = buf.subarray(0, unfragEnd);
  const fragNext = buf[unfragNextAt] ?? 0;
  const rest = buf.subarray(unfragEnd, end);
  if (end <= mtu) return [Buffer.from(buf.subarray(0, end))];
  const room = (mtu - unfrag.length - 8) & ~7;
  if (room <= 0) throw invalid(`MTU ${mtu} is too small to fragment`);
  const out: Buffer[] = [];
  for (let pos = 0; pos < rest.length; pos += room) {
    const len = Math.min(room, rest.length - pos);
    const f = Buffer.alloc(unfrag.length + 8 + len);
    unfrag.copy(f, 0);
    f[unfragNextAt] = IpProto.FRAGMENT;
    f.writeUInt16BE(f.length - 40, 4);
    const fh = unfrag.length;
    f[fh] = fragNext;
    f.writeUInt16BE(pos | (pos + len < rest.length ? 1 : 0), fh + 2);
    f.writeUInt32BE(id >>> 0, fh + 4);
    rest.copy(f, fh + 8, pos, pos + len);
    out.push(f);
  }
  return out;
}

/** Fields of an ARP message for IPv4 over Ethernet. */
export interface ArpOptions {
  /** "request" (who-has) or "reply" (is-at). */
  op: "request" | "reply";
  senderMac: MacInput;
  senderIp: IpInput;
  /** Default 00:00:00:00:00:00, as in a request. */
  targetMac?: MacInput;
  targetIp: IpInput;
}

/** Builds the 28-byte ARP message (RFC 826) for Ethernet/IPv4; wrap it with EtherType 0x0806. */
export function buildArp(o: ArpOptions): Buffer {
  const out = Buffer.alloc(28);
  out.writeUInt16BE(1, 0); // hardware: Ethernet
  out.writeUInt16BE(0x0800, 2);
  out[4] = 6;
  out[5] = 4;
  out.writeUInt16BE(o.op === "request" ? 1 : 2, 6);
  parseMac(o.senderMac).copy(out, 8);
  const sip = parseIp(o.senderIp);
  const tip = parseIp(o.targetIp);
  if (sip.length !== 4 || tip.length !== 4) throw invalid("ARP needs IPv4 addresses");
  sip.copy(out, 14);
  parseMac(o.targetMac ?? "00:00:00:00:00:00").copy(out, 18);
  tip.copy(out, 24);
  return out;
}

function invalid(message: string): AppError {
  return new AppError(ErrorCode.InvalidArgument, message);
}
