/**
 * The Internet checksum (RFC 1071) and the pseudo-header sums TCP, UDP and ICMPv6 need.
 * Sums are kept unfolded (plain numbers, exact up to 2^53) so callers can add parts computed
 * separately, e.g. a precomputed payload sum, and fold once at the end.
 */

/** Adds the 16-bit big-endian words of `buf[start, end)` to `initial`; an odd tail byte is zero-padded. */
export function sum16(buf: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  // Four words per round keeps the loop short; the partial sums stay far below 2^53.
  for (; i + 8 <= end; i += 8) {
    sum +=
      ((buf[i] as number) << 8) +
      (buf[i + 1] as number) +
      ((buf[i + 2] as number) << 8) +
      (buf[i + 3] as number) +
      ((buf[i + 4] as number) << 8) +
      (buf[i + 5] as number) +
      ((buf[i + 6] as number) << 8) +
      (buf[i + 7] as number);
  }
  for (; i + 2 <= end; i += 2) sum += ((buf[i] as number) << 8) + (buf[i + 1] as number);
  if (i < end) sum += (buf[i] as number) << 8;
  return sum;
}

/** Folds an unfolded sum to 16 bits and complements it: the value to store in a checksum field. */
export function finishChecksum(sum: number): number {
  let s = (sum % 0x10000) + Math.floor(sum / 0x10000);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Checksum of `buf[start, end)`, as stored in an IPv4 header or ICMP message. */
export function internetChecksum(buf: Uint8Array, start: number, end: number): number {
  return finishChecksum(sum16(buf, start, end));
}

/**
 * Unfolded sum of the pseudo-header fields that do not depend on the segment: both
 * addresses and the protocol number (IPv4, RFC 793) or next header (IPv6, RFC 8200 8.1).
 * Add the upper-layer length and the segment bytes to finish.
 */
export function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, protocol: number): number {
  return sum16(src, 0, src.length) + sum16(dst, 0, dst.length) + protocol;
}
