import { AppError } from "@pcapfleet/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Db } from "../db/index.js";
import { dbBackends, type ScratchDb, silentLogger } from "../db/testing.js";
import { migrateCore } from "../sensors/testing.js";
import { partitionConfigSchema, partitionedTablesFrom } from "./config.js";
import { createPartitionManager, defaultPartitionedTables } from "./manager.js";

const log = silentLogger();
const day = 86_400_000;
const noon = new Date("2024-03-10T12:00:00Z");

async function partitionsOf(db: Db, table: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = to_regclass($1) ORDER BY 1`,
    [table],
  );
  return rows.map((row) => row.name);
}

async function insertHealth(db: Db, sensor: string, at: string): Promise<void> {
  await db.query("INSERT INTO sensor_health (sensor, received_at, cpu_percent) VALUES ($1, $2, 1)", [
    sensor,
    at,
  ]);
}

describe.each(dbBackends())("partition manager on $name", (backend) => {
  let scratch: ScratchDb;
  // One database per suite (starting PGlite takes seconds); each test gets a fresh schema.
  beforeAll(async () => {
    scratch = await backend.create();
  });
  afterAll(() => scratch.drop());
  beforeEach(async () => {
    await scratch.db.exec("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    await migrateCore(scratch.db);
  });

  it("creates yesterday to today+aheadDays for each table and skips missing tables", async () => {
    const manager = createPartitionManager({ db: scratch.db, log, now: () => noon });
    const report = await manager.runOnce();
    const expected = ["20240309", "20240310", "20240311", "20240312", "20240313"];
    for (const table of ["sensor_health", "sensor_status_history", "subnet_traffic"]) {
      expect(await partitionsOf(scratch.db, table)).toEqual([
        `${table}_default`,
        ...expected.map((suffix) => `${table}_p${suffix}`),
      ]);
    }
    expect(report.created).toHaveLength(15);
    // audit_log belongs to migration 002, which this suite does not apply.
    expect(report.skipped).toEqual(["audit_log"]);
    const again = await manager.runOnce();
    expect(again.created).toEqual([]);
    expect(again.dropped).toEqual([]);
  });

  it("routes rows into the new partitions, with the parent's indexes", async () => {
    await createPartitionManager({ db: scratch.db, log, now: () => noon }).runOnce();
    await insertHealth(scratch.db, "s1", "2024-03-10T23:59:59.999Z");
    await insertHealth(scratch.db, "s1", "2024-03-11T00:00:00Z");
    const { rows } = await scratch.db.query<{ part: string }>(
      "SELECT tableoid::regclass::text AS part FROM sensor_health ORDER BY received_at",
    );
    expect(rows.map((row) => row.part)).toEqual(["sensor_health_p20240310", "sensor_health_p20240311"]);
    const indexes = await scratch.db.query<{ n: number }>(
      "SELECT count(*) AS n FROM pg_indexes WHERE tablename = 'subnet_traffic_p20240310'",
    );
    // Primary key plus the two secondary indexes of subnet_traffic.
    expect(indexes.rows[0]?.n).toBe(3);
  });

  it("moves rows waiting in the default partition into the partition created for their day", async () => {
    await insertHealth(scratch.db, "early", "2024-03-10T01:00:00Z");
    await insertHealth(scratch.db, "early", "2024-03-12T01:00:00Z");
    await insertHealth(scratch.db, "future", "2024-04-30T01:00:00Z");
    const report = await createPartitionManager({ db: scratch.db, log, now: () => noon }).runOnce();
    expect(report.movedRows).toBe(2);
    const { rows } = await scratch.db.query<{ sensor: string; part: string }>(
      "SELECT sensor, tableoid::regclass::text AS part FROM sensor_health ORDER BY received_at",
    );
    expect(rows).toEqual([
      { sensor: "early", part: "sensor_health_p20240310" },
      { sensor: "early", part: "sensor_health_p20240312" },
      { sensor: "future", part: "sensor_health_default" },
    ]);
  });

  it("drops partitions whose whole day is past retention, per table", async () => {
    await createPartitionManager({ db: scratch.db, log, now: () => noon }).runOnce();
    await insertHealth(scratch.db, "old", "2024-03-09T05:00:00Z");
    // Fourteen days later the cut-off is 2024-03-10 12:00: 03-09 lies wholly before it, 03-10 does not.
    const later = new Date(noon.getTime() + 14 * day);
    const report = await createPartitionManager({ db: scratch.db, log, now: () => later }).runOnce();
    expect(report.dropped).toEqual(["sensor_health_p20240309"]);
    expect(await partitionsOf(scratch.db, "sensor_health")).not.toContain("sensor_health_p20240309");
    expect(await partitionsOf(scratch.db, "sensor_health")).toContain("sensor_health_p20240310");
    const { rows } = await scratch.db.query<{ n: number }>("SELECT count(*) AS n FROM sensor_health");
    expect(rows[0]?.n).toBe(0);
    // 31 days after the first run subnet_traffic (30 d) loses its first day; history (90 d) keeps all.
    const month = new Date(noon.getTime() + 31 * day);
    const second = await createPartitionManager({ db: scratch.db, log, now: () => month }).runOnce();
    expect(second.dropped).toContain("subnet_traffic_p20240309");
    expect(second.dropped.filter((name) => name.startsWith("sensor_status_history"))).toEqual([]);
  });

  it("clears rows past retention from the default partition", async () => {
    await insertHealth(scratch.db, "stale", "2024-01-01T00:00:00Z");
    await insertHealth(scratch.db, "fresh", "2024-04-30T00:00:00Z");
    await createPartitionManager({ db: scratch.db, log, now: () => noon }).runOnce();
    const { rows } = await scratch.db.query<{ sensor: string }>("SELECT sensor FROM sensor_health_default");
    expect(rows).toEqual([{ sensor: "fresh" }]);
  });

  it("manages any configured table, such as audit_log once it exists", async () => {
    await scratch.db.exec(`
      CREATE TABLE audit_log (actor text NOT NULL, at timestamptz NOT NULL) PARTITION BY RANGE (at);
      CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;
      INSERT INTO audit_log VALUES ('admin', '2024-03-09T10:00:00Z');`);
    const report = await createPartitionManager({
      db: scratch.db,
      log,
      now: () => noon,
      aheadDays: 0,
      tables: [{ table: "audit_log", column: "at", retentionDays: 365 }],
    }).runOnce();
    expect(report.created).toEqual(["audit_log_p20240309", "audit_log_p20240310"]);
    expect(report.movedRows).toBe(1);
  });

  it("runs at start and stops cleanly", async () => {
    const manager = createPartitionManager({ db: scratch.db, log, now: () => noon });
    manager.start();
    await manager.stop();
    expect(await partitionsOf(scratch.db, "subnet_traffic")).toHaveLength(6);
  });

  if (backend.name === "postgres") {
    it("lets several collectors run at once without errors or duplicate work", async () => {
      const handles = await Promise.all([
        scratch.openAnother(),
        scratch.openAnother(),
        scratch.openAnother(),
      ]);
      const reports = await Promise.all(
        [scratch.db, ...handles].map((db) => createPartitionManager({ db, log, now: () => noon }).runOnce()),
      );
      const created = reports.flatMap((report) => report.created);
      expect(created).toHaveLength(15);
      expect(new Set(created).size).toBe(15);
      expect(await partitionsOf(scratch.db, "sensor_health")).toHaveLength(6);
    });
  }
});

describe("createPartitionManager", () => {
  it("refuses table names that are not plain identifiers", async () => {
    const db = {} as Db; // never used: the factory validates before touching the database
    const build = () =>
      createPartitionManager({
        db,
        log,
        tables: [{ table: 'x"; DROP TABLE sensors; --', column: "at", retentionDays: 1 }],
      });
    expect(build).toThrow(AppError);
    expect(() =>
      createPartitionManager({ db, log, tables: [{ table: "t", column: "at", retentionDays: 0 }] }),
    ).toThrow(/retentionDays/);
  });

  it("exports the default tables and retention", () => {
    expect(defaultPartitionedTables.map((t) => [t.table, t.retentionDays])).toEqual([
      ["sensor_health", 14],
      ["sensor_status_history", 90],
      ["subnet_traffic", 30],
      ["audit_log", 365],
    ]);
  });

  it("builds the table list from configuration, defaults matching the exported list", () => {
    expect(partitionedTablesFrom(partitionConfigSchema.parse({}))).toEqual(defaultPartitionedTables);
    const custom = partitionConfigSchema.parse({ retentionDays: { sensorHealth: 7 } });
    expect(partitionedTablesFrom(custom)[0]).toEqual({
      table: "sensor_health",
      column: "received_at",
      retentionDays: 7,
    });
    expect(partitionConfigSchema.safeParse({ retentionDays: { sensorHealth: 0 } }).success).toBe(false);
    expect(partitionConfigSchema.safeParse({ retention: {} }).success).toBe(false);
  });
});
