/**
 * A block of random bytes that bulk payloads are copied from, with prefix sums of its 16-bit
 * words so the checksum contribution of any even-aligned slice costs O(1) instead of a pass
 * over up to 1448 bytes: the generator's hottest cost after the copy itself.
 */
import type { Prng } from "./prng.js";

/** Random payload bytes plus their word prefix sums. */
export class PayloadPool {
  /** The bytes; slices start at even offsets. */
  readonly bytes: Buffer;
  /** prefix[i] = sum of the first i big-endian 16-bit words of `bytes`. */
  private readonly prefix: Float64Array;

  constructor(rng: Prng, size = 1 << 18) {
    const even = size & ~1;
    this.bytes = rng.bytes(even);
    this.prefix = new Float64Array(even / 2 + 1);
    let s = 0;
    for (let i = 0; i < even; i += 2) {
      s += ((this.bytes[i] as number) << 8) | (this.bytes[i + 1] as number);
      this.prefix[i / 2 + 1] = s;
    }
  }

  /** An even offset where `len` bytes fit, chosen with `rng`. */
  offset(rng: Prng, len: number): number {
    return rng.int((this.bytes.length - len) >>> 1) << 1;
  }

  /** Unfolded checksum sum of `bytes[off, off + len)`; `off` must be even. */
  sum(off: number, len: number): number {
    const w = off >>> 1;
    let s = (this.prefix[w + (len >>> 1)] as number) - (this.prefix[w] as number);
    if ((len & 1) !== 0) s += (this.bytes[off + len - 1] as number) << 8;
    return s;
  }
}
