/**
 * Exact conversion of pcapng 64-bit timestamps to (seconds, nanoseconds) without BigInt or
 * per-packet allocation.
 *
 * A pcapng timestamp counts units of 10^-k or 2^-k seconds in 64 bits, which a double cannot hold
 * exactly (2^53). Every step below keeps intermediate values under 2^53, so the result equals what
 * 64-bit integer arithmetic gives (and what BigInt would give): seconds = floor(ts / units),
 * nanoseconds = floor((ts mod units) * 10^9 / units), the truncation Wireshark and libpcap use.
 */

const TWO_32 = 4_294_967_296;
const NS_PER_S = 1_000_000_000;
/** 10^9 = 2^9 * 1_953_125: the odd factor lets power-of-2 fractions scale without overflow. */
const NS_ODD_FACTOR = 1_953_125;

const Mode = {
  /** 10^-k with k <= 9, or 2^-k with k <= 9: units divide 10^9, the fraction scales by a multiply. */
  DivideMultiply: 0,
  /** 10^-k with 9 < k <= 19: drop the sub-nanosecond digits first, then split the nanosecond count. */
  DivideTwice: 1,
  /** 2^-k with 9 < k <= 63: seconds by shifting, the fraction scaled through its odd factor. */
  Binary: 2,
} as const;
type Mode = (typeof Mode)[keyof typeof Mode];

/**
 * Converts timestamps of one pcapng interface. Built once per Interface Description Block; its
 * {@link TsConverter.convert} writes {@link TsConverter.sec} and {@link TsConverter.nsec} in place.
 */
export class TsConverter {
  /** Seconds of the last conversion (exact below 2^53 seconds, about 285 million years). */
  sec = 0;
  /** Nanoseconds of the last conversion, 0..999_999_999. */
  nsec = 0;
  /** True when the resolution is finer than a microsecond. */
  readonly nanosecond: boolean;
  private readonly mode: Mode;
  private readonly divisor: number;
  private readonly scale: number;
  private readonly bits: number;
  // Results of div64, kept in fields so the division returns nothing and allocates nothing.
  private qHi = 0;
  private qLo = 0;
  private rem = 0;

  private constructor(mode: Mode, divisor: number, scale: number, bits: number, nanosecond: boolean) {
    this.mode = mode;
    this.divisor = divisor;
    this.scale = scale;
    this.bits = bits;
    this.nanosecond = nanosecond;
  }

  /**
   * Builds the converter for an `if_tsresol` byte (high bit clear: 10^-n, set: 2^-n).
   * Returns null for resolutions no 64-bit reader supports (10^-20 and finer, 2^-64 and finer),
   * which libpcap rejects too.
   */
  static fromTsresol(tsresol: number): TsConverter | null {
    const exponent = tsresol & 0x7f;
    if ((tsresol & 0x80) === 0) {
      if (exponent > 19) return null;
      if (exponent <= 9)
        return new TsConverter(Mode.DivideMultiply, 10 ** exponent, 10 ** (9 - exponent), 0, exponent > 6);
      return new TsConverter(Mode.DivideTwice, 10 ** (exponent - 9), 1, 0, true);
    }
    if (exponent > 63) return null;
    if (exponent <= 9)
      return new TsConverter(Mode.DivideMultiply, 2 ** exponent, NS_PER_S / 2 ** exponent, 0, exponent > 19);
    return new TsConverter(Mode.Binary, 0, 0, exponent, exponent > 19);
  }

  /** Converts the timestamp whose high and low 32-bit halves are given (both unsigned). */
  convert(hi: number, lo: number): void {
    if (this.mode === Mode.DivideMultiply) {
      this.div64(hi, lo, this.divisor);
      this.sec = this.qHi * TWO_32 + this.qLo;
      this.nsec = this.rem * this.scale;
    } else if (this.mode === Mode.DivideTwice) {
      this.div64(hi, lo, this.divisor);
      this.div64(this.qHi, this.qLo, NS_PER_S);
      this.sec = this.qHi * TWO_32 + this.qLo;
      this.nsec = this.rem;
    } else {
      this.binary(hi, lo);
    }
  }

  /**
   * Divides the 64-bit value (hi, lo) by d < 2^37 in base-2^16 long division: each partial
   * remainder times 2^16 stays under 2^53, and each quotient digit is below 2^16, so every
   * floating-point step is an exact integer operation (the floor of r/d cannot round up because
   * 1/d exceeds half an ulp of a quotient below 2^16).
   */
  private div64(hi: number, lo: number, d: number): void {
    if (hi < 0x100000) {
      // Common case (timestamps below 2^52 units): one division, off by at most one and corrected;
      // the bound keeps q * d exact even when q was rounded up.
      const t = hi * TWO_32 + lo;
      let q = Math.floor(t / d);
      let r = t - q * d;
      if (r < 0) {
        q -= 1;
        r += d;
      } else if (r >= d) {
        q += 1;
        r -= d;
      }
      this.qHi = Math.floor(q / TWO_32);
      this.qLo = q - this.qHi * TWO_32;
      this.rem = r;
      return;
    }
    let r = hi >>> 16;
    const q3 = Math.floor(r / d);
    r = (r - q3 * d) * 65_536 + (hi & 0xffff);
    const q2 = Math.floor(r / d);
    r = (r - q2 * d) * 65_536 + (lo >>> 16);
    const q1 = Math.floor(r / d);
    r = (r - q1 * d) * 65_536 + (lo & 0xffff);
    const q0 = Math.floor(r / d);
    this.qHi = q3 * 65_536 + q2;
    this.qLo = q1 * 65_536 + q0;
    this.rem = r - q0 * d;
  }

  /**
   * 2^-k units, 9 < k <= 63. The fraction f < 2^k is split as fHi * 2^32 + fLo and scaled by
   * 10^9 / 2^k = 1_953_125 / 2^(k-9); both partial products stay below 2^53 and divisions by
   * powers of two are exact, so the floor is exact.
   */
  private binary(hi: number, lo: number): void {
    const k = this.bits;
    let fHi: number;
    let fLo: number;
    if (k < 32) {
      const p = 2 ** k;
      const whole = Math.floor(lo / p);
      this.sec = hi * 2 ** (32 - k) + whole;
      fHi = 0;
      fLo = lo - whole * p;
    } else {
      const p = 2 ** (k - 32);
      const whole = Math.floor(hi / p);
      this.sec = whole;
      fHi = hi - whole * p;
      fLo = lo;
    }
    const a = fHi * NS_ODD_FACTOR;
    const b = fLo * NS_ODD_FACTOR;
    const s = k - 9;
    this.nsec =
      s <= 32
        ? a * 2 ** (32 - s) + Math.floor(b / 2 ** s)
        : Math.floor((a + Math.floor(b / TWO_32)) / 2 ** (s - 32));
  }
}

/**
 * Splits seconds and nanoseconds into the two 32-bit halves of a nanosecond count, for writers.
 * Exact for seconds below 2^34 (the whole 64-bit nanosecond range); writes into `out[0]` (high)
 * and `out[1]` (low) so callers reuse one array.
 */
export function nanosToHalves(sec: number, nsec: number, out: Uint32Array): void {
  const secHi = Math.floor(sec / 65_536);
  const secLo = sec - secHi * 65_536;
  // sec * 10^9 + nsec = (secHi * 10^9) * 2^16 + (secLo * 10^9 + nsec); both parts stay below 2^53.
  const high = secHi * NS_PER_S;
  const low = secLo * NS_PER_S + nsec;
  const highMid = high % 65_536;
  const sum = highMid * 65_536 + low;
  const carry = Math.floor(sum / TWO_32);
  out[0] = (high - highMid) / 65_536 + carry;
  out[1] = sum - carry * TWO_32;
}
