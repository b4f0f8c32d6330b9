import { describe, expect, it } from "vitest";
import { isoFromMs } from "./values.js";

describe("isoFromMs", () => {
  it("writes what Date.prototype.toISOString writes, across leap days, centuries and the range ends", () => {
    const edges = [
      0,
      1,
      999,
      1000.9,
      Date.UTC(1972, 1, 29, 23, 59, 59, 999),
      Date.UTC(2000, 1, 29),
      Date.UTC(2000, 2, 1),
      Date.UTC(2100, 1, 28, 12),
      Date.UTC(2100, 2, 1),
      Date.UTC(2024, 11, 31, 23, 59, 59, 999),
      Date.UTC(2025, 0, 1),
      253_402_300_799_999,
    ];
    for (const ms of edges) expect(isoFromMs(ms)).toBe(new Date(ms).toISOString());
    // A fixed pseudo-random walk over the whole range, fractions included.
    let seed = 12_345;
    for (let i = 0; i < 20_000; i += 1) {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      const ms = (seed / 2_147_483_648) * 253_402_300_800_000;
      expect(isoFromMs(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it("falls back to Date outside 1970-9999 and still throws on what Date cannot write", () => {
    expect(isoFromMs(-1)).toBe("1969-12-31T23:59:59.999Z");
    expect(isoFromMs(253_402_300_800_000)).toBe("+010000-01-01T00:00:00.000Z");
    expect(() => isoFromMs(Number.NaN)).toThrow(RangeError);
  });
});
