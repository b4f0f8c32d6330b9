import { describe, expect, it } from "vitest";
import { fromZonedInput, toZonedInput } from "./zoned-time.js";

// The window of the New job form is typed on the user's wall clock (a preference), which need
// not be the browser's: these run under Node's full ICU, the same Intl data Chromium uses.

describe("zoned datetime-local values", () => {
  it("reads a wall time in the user's zone, not the machine's", () => {
    expect(new Date(fromZonedInput("2024-01-15T09:30:00", "UTC")).toISOString()).toBe(
      "2024-01-15T09:30:00.000Z",
    );
    expect(new Date(fromZonedInput("2024-01-15T09:30:00", "Asia/Tokyo")).toISOString()).toBe(
      "2024-01-15T00:30:00.000Z",
    );
    expect(new Date(fromZonedInput("2024-07-01T12:00", "America/New_York")).toISOString()).toBe(
      "2024-07-01T16:00:00.000Z",
    );
    expect(new Date(fromZonedInput("2024-01-15T00:15:30.25", "Asia/Kolkata")).toISOString()).toBe(
      "2024-01-14T18:45:30.250Z",
    );
  });

  it("writes an instant on the zone's wall clock, to the second", () => {
    const ms = Date.parse("2024-03-10T06:59:59.900Z");
    expect(toZonedInput(ms, "UTC")).toBe("2024-03-10T06:59:59");
    expect(toZonedInput(ms, "America/New_York")).toBe("2024-03-10T01:59:59");
    expect(toZonedInput(ms, "Australia/Adelaide")).toBe("2024-03-10T17:29:59");
  });

  it("round-trips a time every 75 minutes of a year, across both daylight-saving changes", () => {
    for (const zone of ["Europe/Paris", "America/New_York", "Australia/Lord_Howe"]) {
      const start = Date.parse("2024-01-01T00:00:00Z");
      for (let ms = start; ms < start + 366 * 86_400_000; ms += 75 * 60_000) {
        const wall = toZonedInput(ms, zone);
        const back = fromZonedInput(wall, zone);
        // A wall time of the autumn fold names two instants; either is a right answer.
        expect(toZonedInput(back, zone), `${zone} ${new Date(ms).toISOString()}`).toBe(wall);
      }
    }
  });

  it("moves a wall time skipped by spring-forward to after the jump", () => {
    // Paris skips 02:00–03:00 on 2024-03-31; New York skips 02:00–03:00 on 2024-03-10.
    expect(toZonedInput(fromZonedInput("2024-03-31T02:30:00", "Europe/Paris"), "Europe/Paris")).toBe(
      "2024-03-31T03:30:00",
    );
    expect(toZonedInput(fromZonedInput("2024-03-10T02:30:00", "America/New_York"), "America/New_York")).toBe(
      "2024-03-10T03:30:00",
    );
  });

  it("refuses what is not a datetime-local value, and falls back to UTC for an unknown zone", () => {
    for (const bad of ["", "yesterday", "2024-02-30T10:00", "2024-13-01T00:00", "2024-01-01 10:00"]) {
      expect(fromZonedInput(bad, "UTC"), bad).toBeNaN();
    }
    expect(new Date(fromZonedInput("2024-01-15T09:30", "Mars/Olympus")).toISOString()).toBe(
      "2024-01-15T09:30:00.000Z",
    );
  });
});
