/**
 * A small seeded PRNG (xoshiro128**, seeded through splitmix32) so generated traffic is the
 * same for the same seed on every machine. Math.random is never used: its sequence cannot
 * be seeded, and tests, sample rings and benchmarks must be reproducible.
 */

/** Deterministic random source; every method advances the same stream. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Seeds the four state words from `seed` with splitmix32, as xoshiro's authors advise. */
  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    // An all-zero state would repeat zeros forever; splitmix never yields it, but be explicit.
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Next unsigned 32-bit integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n) for 0 < n <= 2^32. */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [lo, hi] (both included). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new RangeError("pick from an empty array");
    return item;
  }

  /** Fills `buf[start, end)` with random bytes. */
  fill(buf: Uint8Array, start = 0, end = buf.length): Uint8Array {
    let i = start;
    for (; i + 4 <= end; i += 4) {
      const v = this.u32();
      buf[i] = v >>> 24;
      buf[i + 1] = v >>> 16;
      buf[i + 2] = v >>> 8;
      buf[i + 3] = v;
    }
    if (i < end) {
      let v = this.u32();
      for (; i < end; i++) {
        buf[i] = v >>> 24;
        v <<= 8;
      }
    }
    return buf;
  }

  /** A new Buffer of `n` random bytes. */
  bytes(n: number): Buffer {
    const buf = Buffer.allocUnsafe(n);
    this.fill(buf);
    return buf;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
