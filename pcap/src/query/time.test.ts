import { AppError } from "@pcapfleet/core/errors";
import { describe, expect, it } from "vitest";
import {
  addSeconds,
  compareInstant,
  END_OF_TIME,
  EPOCH,
  formatInstant,
  type Instant,
  parseInstant,
} from "./time.js";

describe("parseInstant: epoch seconds", () => {
  it("reads whole seconds and fractions exactly, without float error", () => {
    expect(parseInstant("1700000000")).toEqual({ sec: 1_700_000_000, nsec: 0 });
    expect(parseInstant("1700000000.5")).toEqual({ sec: 1_700_000_000, nsec: 500_000_000 });
    expect(parseInstant("1700000000.")).toEqual({ sec: 1_700_000_000, nsec: 0 });
    // As a double this is 1700000000.1234567165374756: the nanoseconds must survive.
    expect(parseInstant("1700000000.123456789")).toEqual({ sec: 1_700_000_000, nsec: 123_456_789 });
    expect(parseInstant("1700000000.000000001")).toEqual({ sec: 1_700_000_000, nsec: 1 });
    expect(parseInstant("0")).toEqual(EPOCH);
    expect(parseInstant(" 42.25 ")).toEqual({ sec: 42, nsec: 250_000_000 });
  });

  it("rejects finer than nanoseconds, signs, exponents and junk", () => {
    for (const text of ["1700000000.1234567891", "-1", "+5", "1e9", "0x10", "1.2.3", "", "12abc", "1,5"]) {
      expect(() => parseInstant(text, "--from"), text).toThrow(AppError);
    }
    expect(() => parseInstant("1700000000.1234567891", "--to")).toThrow(/at most 9 fraction digits/);
    expect(() => parseInstant("yesterday", "--from")).toThrow(/^bad --from 'yesterday': expected RFC 3339/);
  });
});

describe("parseInstant: RFC 3339", () => {
  it("reads UTC and offsets, with up to 9 fraction digits", () => {
    expect(parseInstant("2023-11-14T22:13:20Z")).toEqual({ sec: 1_700_000_000, nsec: 0 });
    expect(parseInstant("2023-11-14t22:13:20z")).toEqual({ sec: 1_700_000_000, nsec: 0 });
    expect(parseInstant("2023-11-14 22:13:20Z")).toEqual({ sec: 1_700_000_000, nsec: 0 });
    expect(parseInstant("2023-11-14T23:13:20+01:00")).toEqual({ sec: 1_700_000_000, nsec: 0 });
    expect(parseInstant("2023-11-14T17:43:20-04:30")).toEqual({ sec: 1_700_000_000, nsec: 0 });
    expect(parseInstant("2023-11-14T22:13:20.123456789Z")).toEqual({ sec: 1_700_000_000, nsec: 123_456_789 });
    expect(parseInstant("2023-11-14T22:13:20.1Z")).toEqual({ sec: 1_700_000_000, nsec: 100_000_000 });
    expect(parseInstant("1970-01-01T00:00:00Z")).toEqual(EPOCH);
    expect(parseInstant("2024-02-29T00:00:00Z").sec).toBe(1_709_164_800);
  });

  it("agrees with Date for whole seconds across many dates", () => {
    for (let ms = 0; ms < 4_000_000_000_000; ms += 97_654_321_000) {
      const iso = new Date(ms).toISOString().replace(/\.000Z$/, "Z");
      expect(parseInstant(iso).sec, iso).toBe(ms / 1000);
    }
  });

  it("rejects impossible dates, leap seconds, missing zones and years before 1970", () => {
    for (const text of [
      "2023-02-29T00:00:00Z",
      "2023-13-01T00:00:00Z",
      "2023-00-10T00:00:00Z",
      "2023-04-31T00:00:00Z",
      "2023-11-14T24:00:00Z",
      "2023-11-14T22:60:00Z",
      "2016-12-31T23:59:60Z",
      "2023-11-14T22:13:20",
      "2023-11-14T22:13:20+24:00",
      "2023-11-14T22:13:20.1234567890Z",
      "0099-01-01T00:00:00Z",
      "1969-12-31T23:59:59Z",
      "1970-01-01T00:30:00+01:00",
      "2023-11-14",
    ]) {
      expect(() => parseInstant(text), text).toThrow(AppError);
    }
    expect(() => parseInstant("2016-12-31T23:59:60Z")).toThrow(/leap seconds/);
  });

  it("reports bad input as invalid_argument, for exit code 2", () => {
    const error = (() => {
      try {
        parseInstant("soon", "--to");
      } catch (caught) {
        return caught as AppError;
      }
      return undefined;
    })();
    expect(error?.code).toBe("invalid_argument");
    expect(error?.exitCode).toBe(2);
  });
});

describe("instant helpers", () => {
  const at = (sec: number, nsec: number): Instant => ({ sec, nsec });

  it("compares by seconds, then nanoseconds", () => {
    expect(compareInstant(at(1, 5), at(1, 5))).toBe(0);
    expect(compareInstant(at(1, 999_999_999), at(2, 0))).toBeLessThan(0);
    expect(compareInstant(at(2, 1), at(2, 0))).toBeGreaterThan(0);
    expect(compareInstant(at(4_294_967_295, 0), END_OF_TIME)).toBeLessThan(0);
  });

  it("adds the reorder slack without passing the end of time", () => {
    expect(addSeconds(at(10, 7), 10)).toEqual(at(20, 7));
    expect(addSeconds(END_OF_TIME, 10)).toBe(END_OF_TIME);
  });

  it("formats with nine decimals", () => {
    expect(formatInstant(at(1_700_000_000, 1))).toBe("1700000000.000000001");
    expect(formatInstant(parseInstant(formatInstant(at(5, 120))))).toBe("5.000000120");
  });
});
