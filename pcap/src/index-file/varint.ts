/**
 * Posting lists are sorted record offsets stored as deltas in LEB128 varints: consecutive
 * packets of one host are a few KiB apart, so most deltas take two bytes instead of eight.
 * Offsets are JavaScript numbers (files beyond 4 GiB), so values above 2^31 take a slower
 * arithmetic path; a delta that large is rare (first posting of a key deep in a big file).
 */

/** Writes `value` (a non-negative integer below 2^53) at `at`; returns the position after it. */
export function appendVarint(target: Uint8Array, at: number, value: number): number {
  let v = value;
  let p = at;
  while (v >= 0x80000000) {
    target[p++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  while (v > 0x7f) {
    target[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  target[p++] = v;
  return p;
}

/** Bytes {@link appendVarint} takes for `value`. */
export function varintLength(value: number): number {
  let n = 1;
  for (let v = value; v > 0x7f; v = Math.floor(v / 128)) n++;
  return n;
}

/**
 * Decodes the deltas in `bytes[start, end)` into absolute offsets written to `out` from `at`;
 * returns the index after the last one written. A varint running past `end` is corrupt input
 * and throws a RangeError (the index loader checks the checksum first, so this is a bug guard).
 */
export function decodeDeltas(
  bytes: Uint8Array,
  start: number,
  end: number,
  out: Float64Array,
  at: number,
): number {
  let value = 0;
  let o = at;
  let p = start;
  while (p < end) {
    let b = bytes[p++] as number;
    let delta = b & 0x7f;
    let scale = 128;
    while (b >= 0x80) {
      if (p >= end) throw new RangeError("varint runs past the end of its posting list");
      b = bytes[p++] as number;
      delta += (b & 0x7f) * scale;
      scale *= 128;
    }
    value += delta;
    out[o++] = value;
  }
  return o;
}

/** The last absolute offset of a posting list: the sum of its deltas. */
export function sumDeltas(bytes: Uint8Array, start: number, end: number): number {
  let value = 0;
  let p = start;
  while (p < end) {
    let b = bytes[p++] as number;
    let delta = b & 0x7f;
    let scale = 128;
    while (b >= 0x80 && p < end) {
      b = bytes[p++] as number;
      delta += (b & 0x7f) * scale;
      scale *= 128;
    }
    value += delta;
  }
  return value;
}
