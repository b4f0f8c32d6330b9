import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbBackends, silentLogger } from "../db/testing.js";
import { createApp } from "../http/app.js";
import { type ErrorBody, json } from "../http/testing.js";
import { kvBackends } from "../kv/testing.js";
import { createLogRing } from "../logs/log-ring.js";
import { createPartitionManager } from "../partitions/manager.js";
import { createHealthRoutes } from "./health-routes.js";
import { createCollectorRoutes } from "./index.js";
import { createFleetHarness, type FleetHarness, testVersion } from "./testing.js";

const combos = dbBackends().flatMap((db) =>
  kvBackends().map((kv) => ({ name: `${db.name}+${kv.name}`, db, kv })),
);

interface Probe {
  kind: string;
  ok: boolean;
  latency_ms: number;
  error: string | null;
}
interface Health {
  status: string;
  version: string;
  started_at: string;
  uptime_s: number;
  database: Probe;
  kv: Probe;
}
interface TableRow {
  name: string;
  partitioned: boolean;
  partitions: number;
  bytes: number;
  index_bytes: number;
  row_estimate: number | null;
  oldest_partition: { name: string; from: string; to: string } | null;
  newest_partition: { name: string; from: string; to: string } | null;
}

describe.each(combos)("health and admin system routes on $name", ({ db, kv }) => {
  let f: FleetHarness;
  beforeAll(async () => {
    f = await createFleetHarness(db, kv);
  });
  afterAll(() => f?.close());

  /** An app whose modules see other db/kv handles (closed ones, to take a dependency down). */
  const appWith = (deps: Partial<Parameters<typeof createCollectorRoutes>[0]>) =>
    createApp({
      log: f.log,
      db: f.h.scratch.db,
      auth: f.h.auth,
      modules: createCollectorRoutes({
        db: f.h.scratch.db,
        kv: f.h.kvScratch.kv,
        logs: f.ring,
        dataDir: f.dataDir,
        version: testVersion,
        startedAt: f.startedAt,
        ...deps,
      }),
    });
  const asAdmin = async (path: string) => ({
    headers: { authorization: `Bearer ${(await f.h.tokens("admin-user")).access_token}` },
    path,
  });

  it("answers the public health probe with dependency latencies", async () => {
    const res = await f.get("/api/v1/health");
    expect(res.status).toBe(200);
    const body = await json<Health>(res);
    expect(body).toMatchObject({
      status: "ok",
      version: testVersion,
      started_at: f.startedAt.toISOString(),
      database: { kind: db.name, ok: true, error: null },
      kv: { kind: kv.name, ok: true, error: null },
    });
    expect(body.uptime_s).toBeGreaterThanOrEqual(5);
    expect(body.database.latency_ms).toBeGreaterThanOrEqual(0);
    expect(body.kv.latency_ms).toBeGreaterThanOrEqual(0);
    expect((await f.get("/api/v1/health?deep=1")).status).toBe(400);
  });

  it("is degraded (still 200) without the kv, and logs why", async () => {
    const deadKv = await f.h.kvScratch.open("dead");
    await deadKv.close();
    const res = await appWith({ kv: deadKv }).request("/api/v1/health");
    expect(res.status).toBe(200);
    const body = await json<Health>(res);
    expect(body.status).toBe("degraded");
    expect(body.database.ok).toBe(true);
    expect(body.kv).toMatchObject({ kind: kv.name, ok: false, error: "unavailable" });
    const logs = await f.get("/api/v1/admin/logs?level=warn&contains=dependency%20unreachable", "admin");
    const { lines } = await json<{ lines: Array<Record<string, unknown>> }>(logs);
    expect(lines.at(-1)).toMatchObject({
      level: "warn",
      msg: "health: dependency unreachable",
      kv: { ok: false },
    });
  });

  it("answers 503 when the database is gone; the admin status still answers", async () => {
    const gone = await db.create();
    await gone.drop();
    const app = appWith({ db: gone.db });
    const res = await app.request("/api/v1/health");
    expect(res.status).toBe(503);
    const body = await json<Health>(res);
    expect(body).toMatchObject({
      status: "degraded",
      database: { kind: db.name, ok: false, error: "unavailable" },
    });
    expect(body.kv.ok).toBe(true);
    const { headers } = await asAdmin("");
    const summary = await app.request("/api/v1/health/summary", { headers });
    expect(summary.status).toBe(503);
    expect((await json<ErrorBody>(summary)).code).toBe("unavailable");
    const status = await app.request("/api/v1/admin/system/status", { headers });
    expect(status.status).toBe(200);
    expect(await json(status)).toMatchObject({
      database: { ok: false, size_bytes: null, server_version: null },
      sensors: null,
    });
  });

  it("answers 503 with a timeout when the database does not answer in time", async () => {
    const busy = await db.create();
    try {
      // Every session taken (PGlite has one; the test pool has five), so SELECT 1 queues.
      let release = () => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      const sessions = db.name === "pglite" ? 1 : 5;
      const holds = Array.from({ length: sessions }, () => busy.db.withConnection(() => released));
      const app = createApp({
        log: f.log,
        db: f.h.scratch.db,
        auth: f.h.auth,
        modules: [
          createHealthRoutes({
            db: busy.db,
            kv: f.h.kvScratch.kv,
            version: testVersion,
            startedAt: f.startedAt,
            probeTimeoutMs: 150,
          }),
        ],
      });
      const started = Date.now();
      const res = await app.request("/api/v1/health");
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(res.status).toBe(503);
      const body = await json<Health>(res);
      expect(body.database).toMatchObject({ ok: false, error: "timeout" });
      expect(body.database.latency_ms).toBeGreaterThanOrEqual(140);
      release();
      await Promise.all(holds);
      expect((await app.request("/api/v1/health")).status).toBe(200);
    } finally {
      await busy.drop();
    }
  });

  it("summarises the fleet and this collector for viewers", async () => {
    expect((await f.get("/api/v1/health/summary")).status).toBe(401);
    const res = await f.get("/api/v1/health/summary", "viewer");
    expect(res.status).toBe(200);
    const body = await json<{ collector: Health } & Record<string, unknown>>(res);
    expect(body).toMatchObject({
      sensors: { total: 3, online: 1, degraded: 1, offline: 1 },
      locations: 2,
      pcap: { bytes: 15_000_000 },
      collector: { status: "ok", version: testVersion, database: { ok: true }, kv: { ok: true } },
    });
    expect(typeof (body["pcap"] as { oldest_at: unknown }).oldest_at).toBe("string");
  });

  it("shows the admin this collector's process, database, kv and sensors", async () => {
    expect((await f.get("/api/v1/admin/system/status", "analyst")).status).toBe(403);
    const res = await f.get("/api/v1/admin/system/status", "admin");
    expect(res.status).toBe(200);
    const body = await json<
      {
        process: {
          node_version: string;
          pid: number;
          memory: { rss_bytes: number };
          cpu: Record<string, number>;
        };
        database: Probe & { size_bytes: number; server_version: string };
      } & Record<string, unknown>
    >(res);
    expect(body).toMatchObject({
      version: testVersion,
      started_at: f.startedAt.toISOString(),
      process: { node_version: process.version, pid: process.pid },
      database: { kind: db.name, ok: true },
      kv: { kind: kv.name, ok: true },
      sensors: { total: 3, online: 1, degraded: 1, offline: 1 },
    });
    expect(body.process.memory.rss_bytes).toBeGreaterThan(1_000_000);
    expect(body.process.cpu["cores"]).toBeGreaterThanOrEqual(1);
    expect(body.process.cpu["user_s"]).toBeGreaterThan(0);
    expect(body.database.size_bytes).toBeGreaterThan(1_000_000);
    expect(body.database.server_version).toMatch(/^\d+/);
    expect(body["log_lines"]).toBe(f.ring.size());
  });

  it("reports storage per table with partitions summed, row estimates and the partition span", async () => {
    const report = await createPartitionManager({
      db: f.h.scratch.db,
      log: silentLogger(),
      now: f.clock.now,
    }).runOnce();
    expect(report.created).toContain("sensor_health_p20240310");
    await f.h.scratch.db.exec("ANALYZE");
    const res = await f.get("/api/v1/admin/storage", "admin");
    expect(res.status).toBe(200);
    const body = await json<{
      database: { kind: string; size_bytes: number };
      tables: TableRow[];
      data_dir: Record<string, unknown>;
    }>(res);
    expect(body.database.kind).toBe(db.name);
    expect(body.database.size_bytes).toBeGreaterThan(1_000_000);
    const table = (name: string) => body.tables.find((t) => t.name === name);
    // No partition shows up as a table of its own.
    expect(body.tables.filter((t) => /_p\d{8}$|_default$/.test(t.name))).toEqual([]);
    expect(table("sensor_health")).toMatchObject({
      partitioned: true,
      partitions: 6, // default + yesterday..today+3
      row_estimate: 9, // b1 once, a1 and a2 four times each
      oldest_partition: {
        name: "sensor_health_p20240309",
        from: "2024-03-09T00:00:00.000Z",
        to: "2024-03-10T00:00:00.000Z",
      },
      newest_partition: { name: "sensor_health_p20240313" },
    });
    expect(table("sensors")).toMatchObject({ partitioned: false, partitions: 0, row_estimate: 3 });
    expect(table("sensors")?.oldest_partition).toBeNull();
    expect(table("devices")?.row_estimate).toBe(4);
    expect(table("users")?.row_estimate).toBe(3);
    const { rows } = await f.h.scratch.db.query<{ bytes: number }>(
      `SELECT sum(pg_total_relation_size(relid))::int8 AS bytes FROM pg_partition_tree('sensor_health')`,
    );
    expect(table("sensor_health")?.bytes).toBe(rows[0]?.bytes);
    expect(table("sensor_health")?.index_bytes).toBeGreaterThan(0);
    const sizes = body.tables.map((t) => t.bytes);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    expect(body.data_dir).toMatchObject({ path: f.dataDir, error: null });
    expect(body.data_dir["total_bytes"]).toBeGreaterThan(0);
    expect(body.data_dir["used_percent"]).toBeGreaterThanOrEqual(0);
    expect(body.data_dir["used_percent"]).toBeLessThanOrEqual(100);

    const missing = join(f.dataDir, "nope");
    const { headers } = await asAdmin("");
    const other = await appWith({ dataDir: missing }).request("/api/v1/admin/storage", { headers });
    expect(other.status).toBe(200);
    expect((await json<{ data_dir: Record<string, unknown> }>(other)).data_dir).toMatchObject({
      path: missing,
      total_bytes: null,
      error: expect.stringMatching(/ENOENT/),
    });
  });

  it("serves recent log lines of a real logger, filtered, redacted and bounded", async () => {
    f.log.debug("routes-test debug");
    f.log.info({ password: "hunter2", sensor: "s9" }, "routes-test sensor registered");
    f.log.warn("routes-test disk filling");
    f.log.error({ err: new Error("boom") }, "routes-test store failed");
    type Lines = { lines: Array<Record<string, unknown> & { msg: string; level: string }>; count: number };
    const get = async (query: string) => {
      const res = await f.get(`/api/v1/admin/logs${query}`, "admin");
      expect(res.status, query).toBe(200);
      return json<Lines>(res);
    };
    const all = await get("?contains=routes-test");
    expect(all.lines.map((l) => [l.level, l.msg])).toEqual([
      ["debug", "routes-test debug"],
      ["info", "routes-test sensor registered"],
      ["warn", "routes-test disk filling"],
      ["error", "routes-test store failed"],
    ]);
    expect(all.count).toBe(4);
    expect(all.lines[1]).toMatchObject({ password: "[redacted]", sensor: "s9", name: "collector" });
    expect(typeof all.lines[0]?.["time"]).toBe("string");
    expect((await get("?contains=routes-test&level=warn")).lines.map((l) => l.msg)).toEqual([
      "routes-test disk filling",
      "routes-test store failed",
    ]);
    expect((await get("?contains=SENSOR%20REGISTERED")).lines.map((l) => l.msg)).toEqual([
      "routes-test sensor registered",
    ]);
    expect((await get("?limit=1")).lines.map((l) => l.msg)).toEqual(["routes-test store failed"]);
    const future = encodeURIComponent(new Date(Date.now() + 60_000).toISOString());
    expect((await get(`?since=${future}`)).lines).toEqual([]);
    for (const query of ["?level=loud", "?limit=0", "?limit=1001", "?since=today", "?grep=x", "?contains="]) {
      const res = await f.get(`/api/v1/admin/logs${query}`, "admin");
      expect(res.status, query).toBe(400);
      expect((await json<ErrorBody>(res)).code).toBe("invalid_argument");
    }
    expect((await f.get("/api/v1/admin/logs", "analyst")).status).toBe(403);
    // Without a ring (no tee configured), the viewer is empty rather than broken.
    const { headers } = await asAdmin("");
    const empty = await appWith({ logs: undefined }).request("/api/v1/admin/logs", { headers });
    expect(await json(empty)).toEqual({ lines: [], count: 0 });
    expect(createLogRing().recent()).toEqual([]);
  });
});
