import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbBackends } from "../db/testing.js";
import { type ErrorBody, json } from "../http/testing.js";
import { kvBackends } from "../kv/testing.js";
import { createSensorQueries } from "../sensors/queries.js";
import { createFleetHarness, type FleetHarness, fleetLocations, fleetStart } from "./testing.js";

interface Sensor {
  name: string;
  location: string;
  status: string;
  status_reasons: string[];
  last_heartbeat_at: string;
  pcap_bytes: number;
  last_status?: Record<string, unknown>;
}

// The sensor routes do not touch the kv; the in-process store is enough (health covers Redis).
const memoryKv = kvBackends({}).find((kv) => kv.name === "memory");

describe.each(dbBackends())("sensor routes on $name", (db) => {
  let f: FleetHarness;
  beforeAll(async () => {
    if (memoryKv === undefined) throw new Error("no in-process kv backend");
    f = await createFleetHarness(db, memoryKv);
  });
  afterAll(() => f?.close());

  const names = async (path: string) => {
    const res = await f.get(path, "viewer");
    expect(res.status, path).toBe(200);
    return (await json<{ sensors: Sensor[] }>(res)).sensors.map((s) => s.name);
  };
  const bad = async (path: string, pattern: RegExp, status = 400) => {
    const res = await f.get(path, "viewer");
    expect(res.status, path).toBe(status);
    const body = await json<ErrorBody>(res);
    expect(body.code, path).toBe(status === 400 ? "invalid_argument" : "not_found");
    expect(body.message, path).toMatch(pattern);
  };

  it("lists the fleet with computed statuses, filtered by location and status", async () => {
    const res = await f.get("/api/v1/sensors", "viewer");
    expect(res.status).toBe(200);
    const { sensors } = await json<{ sensors: Sensor[] }>(res);
    expect(sensors.map((s) => [s.name, s.location, s.status])).toEqual([
      ["a1", "paris", "online"],
      ["a2", "paris", "degraded"],
      ["b1", "berlin", "offline"],
    ]);
    expect(sensors[0]).toMatchObject({
      status_reasons: [],
      last_heartbeat_at: new Date(f.clock.ms).toISOString(),
      pcap_bytes: 5_000_000,
      hostname: "a1.example",
    });
    expect(sensors[1]?.status_reasons[0]).toMatch(/^disk_full:/);
    expect(sensors[2]?.status_reasons[0]).toMatch(/^no_heartbeat/);
    expect(await names("/api/v1/sensors?location=paris")).toEqual(["a1", "a2"]);
    expect(await names("/api/v1/sensors?status=degraded")).toEqual(["a2"]);
    expect(await names("/api/v1/sensors?location=paris&status=offline")).toEqual([]);
    expect(await names("/api/v1/sensors?location=nowhere")).toEqual([]);
  });

  it("pages the fleet by name, each sensor exactly as the row query gives it", async () => {
    const pages: string[][] = [];
    let after: string | null = null;
    do {
      const res = await f.get(`/api/v1/sensors?limit=2${after === null ? "" : `&after=${after}`}`, "viewer");
      expect(res.status).toBe(200);
      const body: { sensors: Sensor[]; next_after: string | null } = await json(res);
      pages.push(body.sensors.map((sensor) => sensor.name));
      after = body.next_after;
    } while (after !== null && pages.length < 5);
    expect(pages).toEqual([["a1", "a2"], ["b1"]]);
    const whole = await json<{ sensors: Sensor[]; next_after: string | null }>(
      await f.get("/api/v1/sensors", "viewer"),
    );
    expect(whole.next_after).toBeNull();
    // The database-built JSON equals the driver's rows formatted by the query module.
    expect(whole.sensors).toEqual(await createSensorQueries({ db: f.h.scratch.db }).listSensors());
    await bad("/api/v1/sensors?limit=0", /limit/);
    await bad("/api/v1/sensors?limit=5001", /limit/);
  });

  it("rejects bad sensor filters with a 400 naming the field", async () => {
    await bad("/api/v1/sensors?status=broken", /status/);
    await bad("/api/v1/sensors?colour=red", /unknown field.*colour/);
    await bad("/api/v1/sensors?status=online&status=offline", /status/);
    await bad("/api/v1/sensors?location=", /location/);
    await bad(`/api/v1/sensors?location=${"x".repeat(129)}`, /location/);
    await bad("/api/v1/sensors?location=par%0Ais", /control characters/);
  });

  it("returns one sensor's status with its latest report, 404 for an unknown one", async () => {
    const res = await f.get("/api/v1/sensors/a2/status", "viewer");
    expect(res.status).toBe(200);
    const a2 = await json<Sensor>(res);
    expect(a2).toMatchObject({ name: "a2", location: "paris", status: "degraded" });
    expect(a2.last_status).toMatchObject({
      identity: { name: "a2", location: "paris", hostname: "a2.example" },
      stores: [{ path: "/var/pcap", disk: { used_percent: 97 } }],
    });
    await bad("/api/v1/sensors/ghost/status", /sensor ghost not found/, 404);
    await bad("/api/v1/sensors/ghost/devices", /sensor ghost not found/, 404);
  });

  it("rejects malformed sensor names and unknown query keys with 400", async () => {
    for (const name of [
      "-dash",
      "a%20b",
      "semi%3Bcolon",
      "x".repeat(254),
      "%C3%A9t%C3%A9",
      "..%2F..%2Fetc",
    ]) {
      await bad(`/api/v1/sensors/${name}/status`, /name/);
      await bad(`/api/v1/sensors/${name}/devices`, /name/);
    }
    // The longest valid name is only unknown, not malformed.
    await bad(`/api/v1/sensors/${"x".repeat(253)}/status`, /not found/, 404);
    await bad("/api/v1/sensors/a1/status?verbose=1", /unknown field.*verbose/);
    await bad("/api/v1/locations?all=true", /unknown field.*all/);
  });

  it("returns a sensor's devices", async () => {
    const res = await f.get("/api/v1/sensors/a1/devices", "viewer");
    expect(res.status).toBe(200);
    const body = await json<{ sensor: string; devices: Array<{ name: string; speed_mbps: number }> }>(res);
    expect(body.sensor).toBe("a1");
    expect(body.devices.map((d) => [d.name, d.speed_mbps])).toEqual([
      ["eth0", 10_000],
      ["eth1", 10_000],
    ]);
    const a2 = await json<{ devices: Array<{ name: string }> }>(
      await f.get("/api/v1/sensors/a2/devices", "viewer"),
    );
    expect(a2.devices.map((d) => d.name)).toEqual(["eth0"]);
  });

  it("lists status changes newest first, with since and limit", async () => {
    type Change = { sensor: string; status: string; previous_status: string | null; location: string | null };
    const activity = async (query: string) => {
      const res = await f.get(`/api/v1/sensors/activity${query}`, "viewer");
      expect(res.status, query).toBe(200);
      return (await json<{ activity: Change[] }>(res)).activity;
    };
    const all = await activity("");
    expect(all).toHaveLength(4);
    expect(all[0]).toMatchObject({
      sensor: "b1",
      location: "berlin",
      status: "offline",
      previous_status: "online",
    });
    expect(all.filter((c) => c.previous_status === null).map((c) => [c.sensor, c.status])).toEqual(
      expect.arrayContaining([
        ["a1", "online"],
        ["a2", "degraded"],
        ["b1", "online"],
      ]),
    );
    expect(await activity("?limit=1")).toEqual([all[0]]);
    const since = encodeURIComponent(new Date(fleetStart + 1).toISOString());
    expect((await activity(`?since=${since}`)).map((c) => c.sensor).sort()).toEqual(["a1", "a2", "b1"]);
    expect(await activity(`?since=${encodeURIComponent("2030-01-01T00:00:00+02:00")}&limit=1000`)).toEqual(
      [],
    );
    await bad("/api/v1/sensors/activity?limit=0", /limit/);
    await bad("/api/v1/sensors/activity?limit=1001", /limit/);
    await bad("/api/v1/sensors/activity?limit=ten", /limit/);
    await bad("/api/v1/sensors/activity?since=yesterday", /since/);
    await bad("/api/v1/sensors/activity?until=now", /unknown field.*until/);
  });

  it("lists locations with their sensors counted by status", async () => {
    const res = await f.get("/api/v1/locations", "viewer");
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ locations: fleetLocations });
  });

  it("documents every sensor route in the OpenAPI document", async () => {
    const doc = await json<{
      paths: Record<string, Record<string, { parameters?: Array<{ name: string }> }>>;
    }>(await f.get("/api/v1/openapi.json"));
    for (const path of [
      "/sensors",
      "/sensors/{name}/status",
      "/sensors/{name}/devices",
      "/sensors/activity",
      "/locations",
    ]) {
      expect(doc.paths[`/api/v1${path}`]?.["get"], path).toBeDefined();
    }
    const params = doc.paths["/api/v1/sensors"]?.["get"]?.parameters?.map((p) => p.name);
    expect(params).toEqual(expect.arrayContaining(["location", "status"]));
    expect(doc.paths["/api/v1/sensors/{name}/status"]?.["get"]?.parameters?.map((p) => p.name)).toContain(
      "name",
    );
  });

  it("needs a token", async () => {
    expect((await f.get("/api/v1/sensors")).status).toBe(401);
  });
});
