import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbBackends, silentLogger } from "../db/testing.js";
import { type ErrorBody, json } from "../http/testing.js";
import { kvBackends } from "../kv/testing.js";
import { networkConfigSchema } from "./config.js";
import { createNetworkMaintainer } from "./maintainer.js";
import {
  addSensor,
  createNetworkHarness,
  type NetworkHarness,
  type TrafficRow,
  writeTraffic,
} from "./testing.js";

// The read routes touch the Kv only through the cache's subscription; the in-process store is
// enough here (admin-routes.test.ts and lookup-cache.test.ts cover Redis).
const memoryKv = kvBackends({}).find((kv) => kv.name === "memory");

const hourMs = 3_600_000;
const H0 = new Date(Math.floor(Date.now() / hourMs) * hourMs - 3 * hourMs);
const at = (minutes: number) => new Date(H0.getTime() + minutes * 60_000);
const iso = (minutes: number) => at(minutes).toISOString();
const window = `from=${iso(-60)}&to=${iso(120)}`;

const rows: TrafficRow[] = (
  [
    // sensor, location, minute, prefix, direction, bytes, packets
    ["s1", "a", 0, "10.1.1.0/24", "src", 1000, 10],
    ["s1", "a", 0, "10.2.1.0/24", "dst", 600, 6],
    ["s1", "a", 0, "10.9.9.0/24", "dst", 50, 1],
    ["s2", "a", 1, "10.1.1.0/24", "src", 500, 5],
    ["s2", "a", 1, "10.3.1.0/24", "dst", 300, 3],
    ["s3", "b", 0, "10.2.1.0/24", "src", 2000, 20],
    ["s3", "b", 0, "10.1.1.0/24", "src", 100, 1],
    ["s3", "b", 0, "10.1.1.0/24", "dst", 700, 7],
    ["s4", "c", 61, "10.3.1.0/24", "src", 400, 40],
  ] as const
).map(([sensor, location, minute, prefix, direction, bytes, packets]) => ({
  sensor,
  location,
  minute: at(minute),
  prefix,
  direction,
  bytes,
  packets,
}));

describe.each(dbBackends())("network read routes on $name", (db) => {
  let n: NetworkHarness;
  beforeAll(async () => {
    if (memoryKv === undefined) throw new Error("no in-process kv backend");
    n = await createNetworkHarness(db, memoryKv);
    for (const [sensor, location] of [
      ["s1", "a"],
      ["s2", "a"],
      ["s3", "b"],
      ["s4", "c"],
    ] as const) {
      await addSensor(n.h.scratch.db, sensor, location);
    }
    await writeTraffic(n.h.scratch.db, rows);
    const maintainer = createNetworkMaintainer({
      db: n.h.scratch.db,
      log: silentLogger(),
      rule: networkConfigSchema.parse({ minPackets: 1 }),
      intervalS: 60,
      retentionDays: 30,
    });
    await maintainer.runOnce();
  });
  afterAll(() => n?.close());

  const get = async <T>(path: string): Promise<T> => {
    const res = await n.call("GET", `/api/v1${path}`, "viewer");
    const body = await json<T>(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    return body;
  };
  const bad = async (path: string, message: RegExp) => {
    const res = await n.call("GET", `/api/v1${path}`, "viewer");
    const body = await json<ErrorBody>(res);
    expect(res.status, `${path}: ${JSON.stringify(body)}`).toBe(400);
    expect(body).toMatchObject({ code: "invalid_argument" });
    expect(body.message, path).toMatch(message);
  };

  it("serves traffic per location and between locations, by hour and by minute", async () => {
    const hourly = await get<Record<string, unknown>>(`/network/traffic?${window}&bucket=hour`);
    expect(hourly).toEqual({
      from: iso(-60),
      to: iso(120),
      bucket: "hour",
      locations: [
        { location: "b", bytes: 2100, packets: 21 },
        { location: "a", bytes: 1500, packets: 15 },
        { location: "c", bytes: 400, packets: 40 },
      ],
      series: [
        { time: iso(0), location: "a", bytes: 1500, packets: 15 },
        { time: iso(0), location: "b", bytes: 2100, packets: 21 },
        { time: iso(60), location: "c", bytes: 400, packets: 40 },
      ],
      // 10.9.9.0/24 is in no map entry: it is no flow.
      flows: [
        { from_location: "b", to_location: "a", bytes: 700, packets: 7 },
        { from_location: "a", to_location: "b", bytes: 600, packets: 6 },
        { from_location: "a", to_location: "c", bytes: 300, packets: 3 },
      ],
    });
    const minutes = await get<{ series: unknown[]; flows: unknown[] }>(
      `/network/traffic?from=${iso(1)}&to=${iso(70)}&bucket=minute&location=a`,
    );
    expect(minutes.series).toEqual([{ time: iso(1), location: "a", bytes: 500, packets: 5 }]);
    expect(minutes.flows).toEqual([{ from_location: "a", to_location: "c", bytes: 300, packets: 3 }]);
    const days = await get<{ from: string; locations: unknown[] }>(`/network/traffic?${window}&bucket=day`);
    expect(days.from).toBe(new Date(Math.floor(at(-60).getTime() / 86_400_000) * 86_400_000).toISOString());
    expect(days.locations).toEqual(hourly["locations"]);
  });

  it("lists active subnets with their location, where they were seen and their volume", async () => {
    const { subnets, truncated } = await get<{ subnets: Record<string, unknown>[]; truncated: boolean }>(
      `/network/subnets?${window}`,
    );
    expect(truncated).toBe(false);
    expect(subnets.map((s) => [s["prefix"], s["locations"], s["source"], s["seen_at"]])).toEqual([
      ["10.2.1.0/24", ["b"], "learned", ["a", "b"]],
      ["10.1.1.0/24", ["a"], "learned", ["a", "b"]],
      ["10.3.1.0/24", ["c"], "learned", ["a", "c"]],
      ["10.9.9.0/24", [], null, ["a"]],
    ]);
    expect(subnets[1]).toMatchObject({
      first_seen: iso(0),
      last_seen: iso(1),
      bytes_sent: 1600,
      packets_sent: 16,
      bytes_received: 700,
      packets_received: 7,
    });
    const only = async (query: string) =>
      (await get<{ subnets: { prefix: string }[] }>(`/network/subnets?${window}&${query}`)).subnets.map(
        (s) => s.prefix,
      );
    expect(await only("location=a")).toEqual(["10.1.1.0/24"]);
    expect(await only("source=unmapped")).toEqual(["10.9.9.0/24"]);
    expect(await only("within=10.2.0.0/16")).toEqual(["10.2.1.0/24"]);
    const limited = await get<{ subnets: unknown[]; truncated: boolean }>(
      `/network/subnets?${window}&limit=2`,
    );
    expect([limited.subnets.length, limited.truncated]).toEqual([2, true]);
  });

  it("ranks top subnets and draws one series at a time", async () => {
    const top = await get<{ subnets: Record<string, unknown>[] }>(`/network/analytics/top-subnets?${window}`);
    expect(top.subnets.map((s) => [s["prefix"], s["bytes"], s["locations"]])).toEqual([
      ["10.2.1.0/24", 2000, ["b"]],
      ["10.1.1.0/24", 1600, ["a"]],
      ["10.3.1.0/24", 400, ["c"]],
    ]);
    const received = await get<{ subnets: { prefix: string; bytes: number }[] }>(
      `/network/analytics/top-subnets?${window}&direction=dst&location=a&limit=2`,
    );
    expect(received.subnets.map((s) => [s.prefix, s.bytes])).toEqual([
      ["10.2.1.0/24", 600],
      ["10.3.1.0/24", 300],
    ]);
    const series = async (query: string) =>
      (await get<{ series: unknown[] }>(`/network/analytics/traffic-over-time?${window}&${query}`)).series;
    expect(await series("location=a&to_location=b")).toEqual([{ time: iso(0), bytes: 600, packets: 6 }]);
    expect(await series("to_location=a&bucket=day")).toEqual([
      {
        time: new Date(Math.floor(at(0).getTime() / 86_400_000) * 86_400_000).toISOString(),
        bytes: 700,
        packets: 7,
      },
    ]);
    const byMinute = await get<{ series: unknown[] }>(
      `/network/analytics/traffic-over-time?from=${iso(0)}&to=${iso(5)}&bucket=minute&to_location=a`,
    );
    expect(byMinute.series).toEqual([{ time: iso(0), bytes: 700, packets: 7 }]);
    expect(await series("location=a")).toEqual([{ time: iso(0), bytes: 1500, packets: 15 }]);
    expect(await series("direction=dst")).toEqual([{ time: iso(0), bytes: 1650, packets: 17 }]);
    expect(
      (
        await get<{ series: unknown[] }>(
          `/network/analytics/traffic-over-time?from=${iso(0)}&to=${iso(5)}&bucket=minute&prefix=10.1.0.0/16`,
        )
      ).series,
    ).toEqual([
      { time: iso(0), bytes: 1100, packets: 11 },
      { time: iso(1), bytes: 500, packets: 5 },
    ]);
    expect(await series("bucket=day&prefix=10.3.1.0/24")).toEqual([
      {
        time: new Date(Math.floor(at(61).getTime() / 86_400_000) * 86_400_000).toISOString(),
        bytes: 400,
        packets: 40,
      },
    ]);
  });

  it("lists locations with sensors, map entries and traffic", async () => {
    const { locations } = await get<{ locations: Record<string, unknown>[] }>(`/network/locations?${window}`);
    expect(locations.map((l) => l["name"])).toEqual(["a", "b", "c"]);
    expect(locations[0]).toMatchObject({
      sensor_count: 2,
      sensors_by_status: { online: 2, degraded: 0, offline: 0 },
      traffic: { bytes: 1500, packets: 15 },
      metadata: {},
      subnets: [
        { prefix: "10.1.1.0/24", source: "learned", learned_share: 1500 / 1600, last_seen_at: iso(1) },
      ],
    });
  });

  it("answers bad windows, buckets and filters with 400s", async () => {
    await bad(
      `/network/traffic?from=${iso(0)}&to=${iso(421)}&bucket=minute`,
      /at most 6 hours by minute; use bucket=hour/,
    );
    await bad(`/network/traffic?from=${iso(0)}&to=${iso(0)}`, /from must be before to/);
    await bad(
      `/network/traffic?from=2020-01-01T00:00:00Z&to=2024-01-01T00:00:00Z&bucket=day`,
      /at most 400 days/,
    );
    await bad(`/network/subnets?from=2000-01-01T00:00:00Z`, /at most 400 days/);
    await bad(`/network/traffic?bucket=week`, /bucket/);
    await bad(`/network/traffic?from=yesterday`, /from/);
    await bad(`/network/traffic?location=atlantis`, /unknown location "atlantis"/);
    await bad(`/network/analytics/traffic-over-time?to_location=atlantis`, /unknown location "atlantis"/);
    await bad(`/network/analytics/traffic-over-time?prefix=10.0.0.1/8`, /bits set right of the \/8 mask/);
    await bad(`/network/subnets?within=zzz`, /not an IPv4 or IPv6/);
    await bad(`/network/analytics/traffic-over-time?to_location=b&prefix=10.0.0.0/8`, /cannot be combined/);
    await bad(`/network/subnets?limit=0`, /limit/);
    await bad(`/network/locations?colour=blue`, /colour/);
  });
});
