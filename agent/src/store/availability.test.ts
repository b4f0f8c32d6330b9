import { describe, expect, it } from "vitest";
import {
  INGEST_WINDOW_MS,
  IngestMeter,
  MIN_HISTORY_MS,
  rateFromSpan,
  retentionForecastHours,
  usableBytes,
} from "./availability.js";

describe("ingest rate and retention forecast", () => {
  it("measures bytes written over the sliding window once there is enough history", () => {
    const meter = new IngestMeter(0);
    for (let s = 1; s <= 50; s++) meter.add(1000, s * 1000);
    expect(meter.rate(50_000)).toBeUndefined();
    for (let s = 51; s <= 61; s++) meter.add(1000, s * 1000);
    expect(meter.rate(MIN_HISTORY_MS + 1000)).toBeCloseTo(1000, 6);
    for (let s = 62; s <= 600; s++) meter.add(1000, s * 1000);
    // After ten minutes at 1000 B/s, the window holds the last five.
    expect(meter.rate(600_000)).toBeCloseTo(1000, 6);
    // The writer stops: the window empties over five minutes.
    expect(meter.rate(600_000 + INGEST_WINDOW_MS / 2)).toBeCloseTo(500, 0);
    expect(meter.rate(600_000 + INGEST_WINDOW_MS + 1000)).toBe(0);
  });

  it("estimates from the files' span and forecasts (held + free) / rate", () => {
    expect(rateFromSpan(3600, 0n, 3_600_000_000_000n)).toBe(1);
    expect(rateFromSpan(3600, 5n, 5n)).toBe(0);
    expect(retentionForecastHours(1000, 2600, 1, 0n, 1n)).toBe(1);
    // No rate: the span held now, in hours.
    expect(retentionForecastHours(1000, 2600, 0, 0n, 7_200_000_000_000n)).toBe(2);
  });

  it("counts usable space within a disk limit: limit% of used + available, minus used", () => {
    const disk = { usedBytes: 400, freeBytes: 600 };
    expect(usableBytes(disk)).toBe(600);
    expect(usableBytes(disk, 100)).toBe(600);
    expect(usableBytes(disk, 70)).toBeCloseTo(300, 9);
    // Already over the limit: nothing usable, never negative.
    expect(usableBytes(disk, 30)).toBe(0);
    expect(usableBytes(undefined, 70)).toBe(0);
    // Held 1000 B at 1 B/s with 300 B usable: 1300 s.
    expect(retentionForecastHours(1000, usableBytes(disk, 70), 1, 0n, 1n)).toBeCloseTo(1300 / 3600, 9);
  });
});
