import { AppError, ErrorCode } from "@pcapfleet/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbBackends, type ScratchDb } from "../db/testing.js";
import { type TestClock, testClock } from "../ingest/testing.js";
import { createMemoryKv } from "../kv/index.js";
import { fleetLocations, fleetStart, ingestTestFleet } from "./fleet-testing.js";
import { createSensorQueries, type SensorQueries } from "./queries.js";
import { migrateCore } from "./testing.js";

async function notFound(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe(ErrorCode.NotFound);
}

describe.each(dbBackends())("sensor queries on $name", (backend) => {
  let scratch: ScratchDb;
  let clock: TestClock;
  let queries: SensorQueries;
  const kv = createMemoryKv();
  const start = fleetStart;

  // A small fleet: a1 healthy at paris, a2 with a full disk at paris, b1 at berlin gone silent.
  beforeAll(async () => {
    scratch = await backend.create();
    await migrateCore(scratch.db);
    clock = testClock(start);
    await ingestTestFleet(scratch.db, kv, clock);
    queries = createSensorQueries({ db: scratch.db });
  });
  afterAll(async () => {
    await kv.close();
    await scratch?.drop();
  });

  it("lists sensors, filtered by location and status", async () => {
    const all = await queries.listSensors();
    expect(all.map((sensor) => [sensor.name, sensor.status])).toEqual([
      ["a1", "online"],
      ["a2", "degraded"],
      ["b1", "offline"],
    ]);
    expect(all[0]).toMatchObject({
      location: "paris",
      version: "1.0.0",
      hostname: "a1.example",
      agent_address: "127.0.0.1:50052",
      status_reasons: [],
      last_heartbeat_at: new Date(clock.ms).toISOString(),
      pcap_bytes: 5_000_000,
      disk_used_percent: 40,
    });
    expect(typeof all[0]?.first_seen_at).toBe("string");
    expect((await queries.listSensors({ location: "paris" })).map((s) => s.name)).toEqual(["a1", "a2"]);
    expect((await queries.listSensors({ status: "degraded" })).map((s) => s.name)).toEqual(["a2"]);
    expect(await queries.listSensors({ location: "nowhere" })).toEqual([]);
  });

  it("returns one sensor's status with its latest full report", async () => {
    const a2 = await queries.getSensorStatus("a2");
    expect(a2.status).toBe("degraded");
    expect(a2.status_reasons[0]).toMatch(/^disk_full:/);
    expect(a2.last_status).toMatchObject({
      identity: { name: "a2", location: "paris" },
      stores: [{ path: "/var/pcap", state: "ok", disk: { used_percent: 97 } }],
    });
    await notFound(queries.getSensorStatus("nope"));
  });

  it("returns a sensor's devices", async () => {
    const { sensor, devices } = await queries.getSensorDevices("a1");
    expect(sensor).toBe("a1");
    expect(devices.map((device) => device.name)).toEqual(["eth0", "eth1"]);
    expect(devices[0]).toMatchObject({ speed_mbps: 10_000, rx_bytes: 1, capturing: false });
    await notFound(queries.getSensorDevices("nope"));
  });

  it("lists recent status changes, newest first", async () => {
    const activity = await queries.sensorActivity({ limit: 10 });
    expect(activity[0]).toMatchObject({
      sensor: "b1",
      location: "berlin",
      status: "offline",
      previous_status: "online",
    });
    expect(activity).toHaveLength(4);
    const recent = await queries.sensorActivity({ since: new Date(start + 1), limit: 10 });
    expect(recent.map((change) => change.sensor).sort()).toEqual(["a1", "a2", "b1"]);
    await expect(queries.sensorActivity({ limit: 0 })).rejects.toThrow(/limit/);
  });

  it("lists locations with sensors counted by status", async () => {
    expect(await queries.listLocations()).toEqual(fleetLocations);
  });

  it("returns a sensor's health samples in a window", async () => {
    const all = await queries.sensorHealth("a1", { from: new Date(start), to: new Date(clock.ms + 1) });
    expect(all.samples).toHaveLength(4);
    expect(all.samples[0]).toMatchObject({ cpu_percent: 12.5, disk_used_percent: 40, memory_percent: 25 });
    const newest = await queries.sensorHealth("a1", {
      from: new Date(start),
      to: new Date(clock.ms + 1),
      limit: 2,
    });
    expect(newest.samples.map((sample) => sample.received_at)).toEqual([
      new Date(clock.ms - 10_000).toISOString(),
      new Date(clock.ms).toISOString(),
    ]);
    await notFound(queries.sensorHealth("nope", { from: new Date(start), to: new Date(clock.ms) }));
    await expect(
      queries.sensorHealth("a1", { from: new Date(clock.ms), to: new Date(start) }),
    ).rejects.toThrow(/from must be/);
  });

  it("summarises the fleet", async () => {
    expect(await queries.healthSummary()).toEqual({
      sensors: { total: 3, online: 1, degraded: 1, offline: 1 },
      locations: 2,
      pcap: {
        bytes: 15_000_000,
        oldest_at: new Date(start - 3_600_000).toISOString(),
        newest_at: new Date(clock.ms - 1_000).toISOString(),
      },
    });
  });
});
