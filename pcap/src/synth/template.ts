/**
 * Header templates for the traffic generator: the link and IP headers of one direction of a
 * flow are built once, then every packet copies them and patches only what changes (lengths,
 * IP id, checksums, TCP sequence numbers). This is what lets the generator write gigabytes
 * of realistic traffic quickly.
 */
import { finishChecksum, pseudoHeaderSum, sum16 } from "./checksum.js";
import type { PayloadPool } from "./payload-pool.js";

/** Link + IP header of one flow direction, ready to be stamped onto packets. */
export class PacketTemplate {
  /** Link header followed by the IP header (no L4). */
  readonly hdr: Buffer;
  /** Offset of the IP header. */
  readonly l3Off: number;
  /** Offset of the L4 header (= header length). */
  readonly l4Off: number;
  readonly ipv6: boolean;
  /** Pad frames to the 60-byte Ethernet minimum. */
  readonly pad60: boolean;
  /** Unfolded pseudo-header sum of addresses and protocol; add the L4 length. */
  readonly pseudo: number;
  /** Next IPv4 identification. */
  ipId: number;

  constructor(o: {
    link: Buffer;
    src: Buffer;
    dst: Buffer;
    protocol: number;
    ttl: number;
    ipId: number;
    flowLabel: number;
    dontFragment: boolean;
    pad60: boolean;
  }) {
    this.ipv6 = o.src.length === 16;
    this.l3Off = o.link.length;
    this.l4Off = this.l3Off + (this.ipv6 ? 40 : 20);
    this.pad60 = o.pad60;
    this.ipId = o.ipId & 0xffff;
    this.pseudo = pseudoHeaderSum(o.src, o.dst, o.protocol);
    const h = Buffer.alloc(this.l4Off);
    o.link.copy(h, 0);
    const ip = this.l3Off;
    if (this.ipv6) {
      h.writeUInt32BE(((6 << 28) | (o.flowLabel & 0xfffff)) >>> 0, ip);
      h[ip + 6] = o.protocol;
      h[ip + 7] = o.ttl;
      o.src.copy(h, ip + 8);
      o.dst.copy(h, ip + 24);
    } else {
      h[ip] = 0x45;
      h[ip + 6] = o.dontFragment ? 0x40 : 0;
      h[ip + 8] = o.ttl;
      h[ip + 9] = o.protocol;
      o.src.copy(h, ip + 12);
      o.dst.copy(h, ip + 16);
    }
    this.hdr = h;
  }

  /**
   * Allocates a packet with `l4Len` bytes after the headers, copies the template and
   * patches the IP length, id and header checksum. The caller must write every L4 byte at
   * `l4Off` (the buffer is not zeroed, for speed; padding is).
   */
  begin(l4Len: number): Buffer {
    const len = this.l4Off + l4Len;
    const out = Buffer.allocUnsafe(len < 60 && this.pad60 ? 60 : len);
    this.hdr.copy(out, 0);
    if (out.length > len) out.fill(0, len);
    const ip = this.l3Off;
    if (this.ipv6) {
      out[ip + 4] = l4Len >>> 8;
      out[ip + 5] = l4Len;
    } else {
      const total = 20 + l4Len;
      out[ip + 2] = total >>> 8;
      out[ip + 3] = total;
      const id = this.ipId;
      this.ipId = (id + 1) & 0xffff;
      out[ip + 4] = id >>> 8;
      out[ip + 5] = id;
      out[ip + 10] = 0;
      out[ip + 11] = 0;
      const c = finishChecksum(sum16(out, ip, ip + 20));
      out[ip + 10] = c >>> 8;
      out[ip + 11] = c;
    }
    return out;
  }
}

/** Where a segment's payload comes from: a prefix (app header), TLS record headers, the random pool. */
export interface SegmentPayload {
  /** App bytes that start the stream of this turn (request, banner...), or null. */
  prefix: Buffer | null;
  /** Offset of this segment inside the turn's byte stream. */
  streamOffset: number;
  /** Bytes in this segment. */
  length: number;
  /** Bytes in the whole turn. */
  total: number;
  /** Payload bytes per TLS application-data record from `recordStart` on; 0 for no records. */
  recordSize: number;
  /** Stream offset of the first record header. */
  recordStart: number;
}

/**
 * Writes the TLS record headers (type 23, TLS 1.2 on the wire) that fall in this segment's
 * part of the stream; returns whether any did.
 */
function writeRecordHeaders(out: Buffer, dataAt: number, seg: SegmentPayload): boolean {
  const size = seg.recordSize;
  if (size === 0) return false;
  const unit = size + 5;
  const from = seg.streamOffset;
  const to = from + seg.length;
  let k = from <= seg.recordStart ? 0 : Math.floor((from - seg.recordStart) / unit);
  let wrote = false;
  for (let h = seg.recordStart + k * unit; h < to; k++, h += unit) {
    if (h + 5 <= from) continue;
    const len = Math.min(size, seg.total - h - 5);
    for (let i = 0; i < 5; i++) {
      const at = h + i;
      if (at < from || at >= to) continue;
      out[dataAt + at - from] = i === 0 ? 23 : i < 3 ? 3 : i === 3 ? len >>> 8 : len & 0xff;
      wrote = true;
    }
  }
  return wrote;
}

/**
 * Writes one TCP segment: template headers, a TCP header with `options` (length a multiple
 * of 4), and payload taken from `prefix` then `pool`. The checksum uses the pool's prefix
 * sums when the payload is pool bytes only.
 */
export function emitTcp(
  t: PacketTemplate,
  pool: PayloadPool,
  poolOffset: number,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  options: Buffer,
  payload: SegmentPayload | null,
): Buffer {
  const optLen = options.length;
  const hdrLen = 20 + optLen;
  const payLen = payload === null ? 0 : payload.length;
  const segLen = hdrLen + payLen;
  const out = t.begin(segLen);
  const p = t.l4Off;
  out[p] = srcPort >>> 8;
  out[p + 1] = srcPort;
  out[p + 2] = dstPort >>> 8;
  out[p + 3] = dstPort;
  out.writeUInt32BE(seq >>> 0, p + 4);
  out.writeUInt32BE(ack >>> 0, p + 8);
  out[p + 12] = (hdrLen >>> 2) << 4;
  out[p + 13] = flags;
  out[p + 14] = window >>> 8;
  out[p + 15] = window;
  out[p + 16] = 0;
  out[p + 17] = 0;
  out[p + 18] = 0;
  out[p + 19] = 0;
  if (optLen > 0) options.copy(out, p + 20);
  let sum = t.pseudo + segLen;
  if (payload !== null && payLen > 0) {
    const dataAt = p + hdrLen;
    const prefix = payload.prefix;
    const fromPrefix =
      prefix === null ? 0 : Math.max(0, Math.min(payLen, prefix.length - payload.streamOffset));
    if (fromPrefix > 0 && prefix !== null) {
      prefix.copy(out, dataAt, payload.streamOffset, payload.streamOffset + fromPrefix);
    }
    pool.bytes.copy(out, dataAt + fromPrefix, poolOffset, poolOffset + payLen - fromPrefix);
    // Fast path: pool bytes only, summed from the pool's prefix sums; else sum what was written.
    if (writeRecordHeaders(out, dataAt, payload) || fromPrefix > 0) {
      sum = sum16(out, dataAt, dataAt + payLen, sum);
    } else {
      sum += pool.sum(poolOffset, payLen);
    }
  }
  sum = sum16(out, p, p + hdrLen, sum);
  const c = finishChecksum(sum);
  out[p + 16] = c >>> 8;
  out[p + 17] = c;
  return out;
}

/** Writes one UDP datagram carrying `payload` on template `t`, with its checksum. */
export function emitUdp(t: PacketTemplate, srcPort: number, dstPort: number, payload: Buffer): Buffer {
  const len = 8 + payload.length;
  const out = t.begin(len);
  const p = t.l4Off;
  out.writeUInt16BE(srcPort, p);
  out.writeUInt16BE(dstPort, p + 2);
  out.writeUInt16BE(len, p + 4);
  out[p + 6] = 0;
  out[p + 7] = 0;
  payload.copy(out, p + 8);
  const c = finishChecksum(sum16(out, p, p + len, t.pseudo + len));
  out.writeUInt16BE(c === 0 ? 0xffff : c, p + 6);
  return out;
}

/** Writes a prebuilt L4 message (an ICMP message with its checksum) on template `t`. */
export function emitRaw(t: PacketTemplate, l4: Buffer): Buffer {
  const out = t.begin(l4.length);
  l4.copy(out, t.l4Off);
  return out;
}
