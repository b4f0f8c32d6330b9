import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nanosToHalves, TsConverter } from "./timestamp.js";

/** The BigInt reference: floor division of the 64-bit count, fraction scaled to ns and truncated. */
function reference(hi: number, lo: number, tsresol: number): { sec: number; nsec: number } {
  const ts = (BigInt(hi) << 32n) | BigInt(lo);
  const exponent = BigInt(tsresol & 0x7f);
  const units = (tsresol & 0x80) === 0 ? 10n ** exponent : 2n ** exponent;
  return { sec: Number(ts / units), nsec: Number(((ts % units) * 1_000_000_000n) / units) };
}

const supported = [
  ...Array.from({ length: 20 }, (_, k) => k),
  ...Array.from({ length: 64 }, (_, k) => 0x80 | k),
];
const u32 = fc.nat({ max: 0xffff_ffff });
// Values near the edges of each half matter most: carries, all-ones, zero.
const edgy = fc.oneof(u32, fc.constantFrom(0, 1, 0xffff, 0x10000, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff));

describe("TsConverter", () => {
  it("equals 64-bit integer arithmetic for every supported resolution and any timestamp", () => {
    fc.assert(
      fc.property(fc.constantFrom(...supported), edgy, edgy, (tsresol, hi, lo) => {
        const clock = TsConverter.fromTsresol(tsresol);
        if (clock === null) throw new Error(`resolution ${tsresol} should be supported`);
        clock.convert(hi, lo);
        const expected = reference(hi, lo, tsresol);
        // Seconds past 2^53 cannot be exact as numbers; compare them as the nearest double.
        expect({ sec: clock.sec, nsec: clock.nsec }).toEqual(expected);
      }),
      { numRuns: 20_000 },
    );
  });

  it("marks sub-microsecond resolutions as nanosecond and refuses those beyond 64 bits", () => {
    expect(TsConverter.fromTsresol(6)?.nanosecond).toBe(false);
    expect(TsConverter.fromTsresol(7)?.nanosecond).toBe(true);
    expect(TsConverter.fromTsresol(0x80 | 19)?.nanosecond).toBe(false);
    expect(TsConverter.fromTsresol(0x80 | 20)?.nanosecond).toBe(true);
    expect(TsConverter.fromTsresol(20)).toBeNull();
    expect(TsConverter.fromTsresol(0x80 | 64)).toBeNull();
  });
});

describe("nanosToHalves", () => {
  it("splits seconds and nanoseconds into the exact 64-bit nanosecond count", () => {
    const out = new Uint32Array(2);
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 34 - 1 }), fc.nat({ max: 999_999_999 }), (sec, nsec) => {
        nanosToHalves(sec, nsec, out);
        const total = BigInt(sec) * 1_000_000_000n + BigInt(nsec);
        if (total >= 2n ** 64n) return;
        expect((BigInt(out[0] ?? 0) << 32n) | BigInt(out[1] ?? 0)).toBe(total);
      }),
      { numRuns: 5_000 },
    );
  });
});
