/**
 * Transport builders: TCP and UDP with pseudo-header checksums, ICMP echo, and the ICMPv6
 * messages a host sends most (echo, neighbor solicitation and advertisement). Each returns
 * the L4 message; wrap it with {@link buildIpv4}/{@link buildIpv6} using the same addresses.
 */
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { IpProto } from "../decode/protocols.js";
import { type IpInput, type MacInput, parseIp, parseMac } from "./address.js";
import { finishChecksum, internetChecksum, pseudoHeaderSum, sum16 } from "./checksum.js";

/** One TCP option; `raw` bytes are copied as given (kind and length included). */
export type TcpOption =
  | { kind: "mss"; value: number }
  | { kind: "wscale"; shift: number }
  | { kind: "sack-permitted" }
  | { kind: "timestamps"; value: number; echo: number }
  | { kind: "sack"; blocks: ReadonlyArray<readonly [number, number]> }
  | { kind: "nop" }
  | { kind: "raw"; bytes: Uint8Array };

/** Encodes TCP options, padded with End-of-Options to a multiple of 4 bytes (at most 40). */
export function encodeTcpOptions(options: readonly TcpOption[]): Buffer {
  const parts: Buffer[] = [];
  for (const o of options) {
    switch (o.kind) {
      case "mss": {
        const b = Buffer.from([2, 4, 0, 0]);
        b.writeUInt16BE(o.value, 2);
        parts.push(b);
        break;
      }
      case "wscale":
        parts.push(Buffer.from([3, 3, o.shift]));
        break;
      case "sack-permitted":
        parts.push(Buffer.from([4, 2]));
        break;
      case "timestamps": {
        const b = Buffer.from([8, 10, 0, 0, 0, 0, 0, 0, 0, 0]);
        b.writeUInt32BE(o.value >>> 0, 2);
        b.writeUInt32BE(o.echo >>> 0, 6);
        parts.push(b);
        break;
      }
      case "sack": {
        const b = Buffer.alloc(2 + 8 * o.blocks.length);
        b[0] = 5;
        b[1] = b.length;
        o.blocks.forEach(([left, right], i) => {
          b.writeUInt32BE(left >>> 0, 2 + 8 * i);
          b.writeUInt32BE(right >>> 0, 6 + 8 * i);
        });
        parts.push(b);
        break;
      }
      case "nop":
        parts.push(Buffer.from([1]));
        break;
      case "raw":
        parts.push(Buffer.from(o.bytes));
        break;
    }
  }
  const raw = Buffer.concat(parts);
  const out = Buffer.alloc((raw.length + 3) & ~3);
  raw.copy(out);
  if (out.length > 40) throw new AppError(ErrorCode.InvalidArgument, "TCP options longer than 40 bytes");
  return out;
}

/** Addresses of the enclosing IP packet, needed for the pseudo-header checksum. */
export interface PseudoHeader {
  src: IpInput;
  dst: IpInput;
}

/** Fields of a TCP segment. */
export interface TcpOptions extends PseudoHeader {
  srcPort: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  /** Sum of {@link TcpFlags} bits (NS = 0x100 allowed). */
  flags: number;
  /** Default 64240. */
  window?: number;
  urgent?: number;
  options?: readonly TcpOption[];
  payload?: Uint8Array;
}

/** Builds a TCP segment (RFC 9293) with a correct checksum over the IPv4 or IPv6 pseudo-header. */
export function buildTcp(o: TcpOptions): Buffer {
  const opts = encodeTcpOptions(o.options ?? []);
  const payload = o.payload ?? new Uint8Array(0);
  const hdr = 20 + opts.length;
  const out = Buffer.alloc(hdr + payload.length);
  out.writeUInt16BE(o.srcPort, 0);
  out.writeUInt16BE(o.dstPort, 2);
  out.writeUInt32BE((o.seq ?? 0) >>> 0, 4);
  out.writeUInt32BE((o.ack ?? 0) >>> 0, 8);
  out[12] = ((hdr >>> 2) << 4) | ((o.flags >>> 8) & 1);
  out[13] = o.flags & 0xff;
  out.writeUInt16BE(o.window ?? 64240, 14);
  out.writeUInt16BE(o.urgent ?? 0, 18);
  opts.copy(out, 20);
  out.set(payload, hdr);
  out.writeUInt16BE(l4Checksum(o, IpProto.TCP, out), 16);
  return out;
}

/** Fields of a UDP datagram. */
export interface UdpOptions extends PseudoHeader {
  srcPort: number;
  dstPort: number;
  payload?: Uint8Array;
  /** Compute the checksum (default true; IPv6 requires it). */
  checksum?: boolean;
}

/** Builds a UDP datagram (RFC 768); a computed checksum of 0 is sent as 0xffff. */
export function buildUdp(o: UdpOptions): Buffer {
  const payload = o.payload ?? new Uint8Array(0);
  const out = Buffer.alloc(8 + payload.length);
  out.writeUInt16BE(o.srcPort, 0);
  out.writeUInt16BE(o.dstPort, 2);
  out.writeUInt16BE(out.length, 4);
  out.set(payload, 8);
  if (o.checksum !== false) out.writeUInt16BE(l4Checksum(o, IpProto.UDP, out) || 0xffff, 6);
  return out;
}

/** Checksum of an L4 message `seg` (checksum field zero) under the pseudo-header of `p`. */
export function l4Checksum(p: PseudoHeader, protocol: number, seg: Uint8Array): number {
  const src = parseIp(p.src);
  const dst = parseIp(p.dst);
  if (src.length !== dst.length) throw new AppError(ErrorCode.InvalidArgument, "mixed IPv4/IPv6 addresses");
  return finishChecksum(sum16(seg, 0, seg.length, pseudoHeaderSum(src, dst, protocol) + seg.length));
}

/** Fields of an echo request/reply (ICMP or ICMPv6). */
export interface EchoOptions {
  /** Reply instead of request. */
  reply?: boolean;
  id: number;
  seq: number;
  /** Default: the 56 bytes of a Linux ping (8-byte timestamp-ish bytes, then 0x10..0x37). */
  payload?: Uint8Array;
}

/** The 56-byte payload of a default Linux `ping`. */
export function pingPayload(): Buffer {
  const b = Buffer.alloc(56);
  for (let i = 8; i < 56; i++) b[i] = i + 8;
  return b;
}

function echo(type: number, o: EchoOptions): Buffer {
  const payload = o.payload ?? pingPayload();
  const out = Buffer.alloc(8 + payload.length);
  out[0] = type;
  out.writeUInt16BE(o.id & 0xffff, 4);
  out.writeUInt16BE(o.seq & 0xffff, 6);
  out.set(payload, 8);
  return out;
}

/** Builds an ICMP echo request (type 8) or reply (type 0) with its checksum. */
export function buildIcmpEcho(o: EchoOptions): Buffer {
  const out = echo(o.reply === true ? 0 : 8, o);
  out.writeUInt16BE(internetChecksum(out, 0, out.length), 2);
  return out;
}

/** Builds an ICMPv6 echo request (128) or reply (129); the checksum covers the IPv6 pseudo-header. */
export function buildIcmpv6Echo(o: EchoOptions & PseudoHeader): Buffer {
  const out = echo(o.reply === true ? 129 : 128, o);
  out.writeUInt16BE(l4Checksum(o, IpProto.ICMPV6, out), 2);
  return out;
}

/** The solicited-node multicast address (ff02::1:ffXX:XXXX) of an IPv6 address. */
export function solicitedNodeMulticast(target: IpInput): Buffer {
  const t = parseIp(target);
  const out = Buffer.from([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0]);
  t.copy(out, 13, 13, 16);
  return out;
}

/**
 * Builds an ICMPv6 Neighbor Solicitation (RFC 4861 4.3) for `target`, with a source
 * link-layer address option when `sourceMac` is given. Send it with hop limit 255 to
 * {@link solicitedNodeMulticast}(target), which is the default `dst`.
 */
export function buildIcmpv6NeighborSolicitation(o: {
  src: IpInput;
  dst?: IpInput;
  target: IpInput;
  sourceMac?: MacInput;
}): Buffer {
  return neighborMessage(135, 0, o.src, o.dst ?? solicitedNodeMulticast(o.target), o.target, 1, o.sourceMac);
}

/** Builds a solicited Neighbor Advertisement (RFC 4861 4.4) with a target link-layer address option. */
export function buildIcmpv6NeighborAdvertisement(o: {
  src: IpInput;
  dst: IpInput;
  target: IpInput;
  targetMac: MacInput;
  router?: boolean;
}): Buffer {
  const flags = (o.router === true ? 0x80000000 : 0) | 0x60000000; // solicited + override
  return neighborMessage(136, flags, o.src, o.dst, o.target, 2, o.targetMac);
}

function neighborMessage(
  type: number,
  flags: number,
  src: IpInput,
  dst: IpInput,
  target: IpInput,
  optionType: number,
  mac: MacInput | undefined,
): Buffer {
  const out = Buffer.alloc(mac === undefined ? 24 : 32);
  out[0] = type;
  out.writeUInt32BE(flags >>> 0, 4);
  parseIp(target).copy(out, 8);
  if (mac !== undefined) {
    out[24] = optionType;
    out[25] = 1;
    parseMac(mac).copy(out, 26);
  }
  out.writeUInt16BE(l4Checksum({ src, dst }, IpProto.ICMPV6, out), 2);
  return out;
}
