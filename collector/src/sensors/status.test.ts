import { describe, expect, it } from "vitest";
import {
  computeSensorStatus,
  dropPercent,
  type StatusFacts,
  type StoreFacts,
  statusChanged,
} from "./status.js";
import { defaultSensorThresholds, sensorThresholdsSchema } from "./thresholds.js";

const clockMs = Date.parse("2024-03-10T12:00:00Z");
const healthyStore: StoreFacts = {
  path: "/var/pcap",
  state: "ok",
  error: "",
  diskUsedPercent: 40,
  newestPacketMs: clockMs - 2_000,
  retentionHours: 72,
  corruptFiles: 0,
};

function facts(store: Partial<StoreFacts> = {}, rest: Partial<StatusFacts> = {}): StatusFacts {
  return { stores: [{ ...healthyStore, ...store }], dropPercent: 0, clockMs, ...rest };
}

function codes(input: StatusFacts, thresholds = defaultSensorThresholds): string[] {
  return computeSensorStatus(input, thresholds).reasons.map((reason) => reason.split(":")[0] ?? "");
}

describe("computeSensorStatus", () => {
  it("is online with no reasons when every rule passes", () => {
    expect(computeSensorStatus(facts(), defaultSensorThresholds)).toEqual({ status: "online", reasons: [] });
  });

  it("is degraded when a store's disk is over 90%, not at 90%", () => {
    expect(codes(facts({ diskUsedPercent: 90 }))).toEqual([]);
    const result = computeSensorStatus(facts({ diskUsedPercent: 93.24 }), defaultSensorThresholds);
    expect(result.status).toBe("degraded");
    expect(result.reasons).toEqual(["disk_full: /var/pcap 93.2% used (limit 90%)"]);
  });

  it("is degraded when drops exceed 1% and unknown drops count as none", () => {
    expect(codes(facts({}, { dropPercent: 1 }))).toEqual([]);
    expect(codes(facts({}, { dropPercent: null }))).toEqual([]);
    expect(codes(facts({}, { dropPercent: 1.5 }))).toEqual(["packet_drops"]);
  });

  it("is degraded when the newest packet is over five minutes old on the sensor's clock", () => {
    expect(codes(facts({ newestPacketMs: clockMs - 300_000 }))).toEqual([]);
    expect(codes(facts({ newestPacketMs: clockMs - 301_000 }))).toEqual(["no_packets"]);
    expect(codes(facts({ newestPacketMs: null }))).toEqual(["no_packets"]);
  });

  it("is degraded when the retention forecast is under the configured hours; no forecast is fine", () => {
    expect(codes(facts({ retentionHours: 23.9 }))).toEqual(["retention_short"]);
    expect(codes(facts({ retentionHours: null }))).toEqual([]);
    const strict = sensorThresholdsSchema.parse({ retentionHours: 100 });
    expect(codes(facts(), strict)).toEqual(["retention_short"]);
  });

  it("is degraded for unreadable, missing and corrupt stores, and for no store at all", () => {
    const unreadable = facts({ state: "unreadable", error: "EACCES", newestPacketMs: null });
    expect(computeSensorStatus(unreadable, defaultSensorThresholds).reasons).toEqual([
      "store_unreadable: /var/pcap: EACCES",
    ]);
    expect(codes(facts({ state: "missing", newestPacketMs: null }))).toEqual(["store_missing"]);
    expect(codes(facts({ state: "degraded", corruptFiles: 2 }))).toEqual(["store_corrupt"]);
    expect(codes(facts({ corruptFiles: 1 }))).toEqual(["store_corrupt"]);
    expect(codes({ stores: [], dropPercent: null, clockMs })).toEqual(["no_store"]);
  });

  it("lists every reason that holds", () => {
    expect(codes(facts({ diskUsedPercent: 99, retentionHours: 1 }, { dropPercent: 5 }))).toEqual([
      "disk_full",
      "retention_short",
      "packet_drops",
    ]);
  });
});

describe("dropPercent", () => {
  it("measures the last interval from the previous counters", () => {
    expect(dropPercent({ received: 2_000, dropped: 30 }, { received: 1_000, dropped: 10 })).toBe(2);
  });

  it("falls back to the lifetime counters without a previous sample or after a restart", () => {
    expect(dropPercent({ received: 1_000, dropped: 5 }, undefined)).toBe(0.5);
    expect(dropPercent({ received: 100, dropped: 50 }, { received: 5_000, dropped: 0 })).toBe(50);
  });

  it("is null when nothing was received or dropped, 100 when only drops", () => {
    expect(dropPercent({ received: 0, dropped: 0 }, undefined)).toBeNull();
    expect(dropPercent({ received: 10, dropped: 3 }, { received: 10, dropped: 0 })).toBe(100);
  });
});

describe("statusChanged", () => {
  it("counts a new sensor and a different status as changes, new reasons alone not", () => {
    expect(statusChanged(undefined, { status: "online", reasons: [] })).toBe(true);
    expect(statusChanged("online", { status: "degraded", reasons: ["x"] })).toBe(true);
    expect(statusChanged("degraded", { status: "degraded", reasons: ["y"] })).toBe(false);
  });
});

describe("sensorThresholdsSchema", () => {
  it("has the documented defaults and rejects unknown keys and bad values", () => {
    expect(sensorThresholdsSchema.parse({})).toEqual({
      diskUsedPercent: 90,
      dropPercent: 1,
      noPacketsSeconds: 300,
      retentionHours: 24,
      offlineAfterIntervals: 3,
      defaultHeartbeatIntervalSeconds: 10,
    });
    expect(sensorThresholdsSchema.safeParse({ diskPercent: 80 }).success).toBe(false);
    expect(sensorThresholdsSchema.safeParse({ diskUsedPercent: 120 }).success).toBe(false);
  });
});
