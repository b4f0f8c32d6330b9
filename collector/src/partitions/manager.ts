import { AppError, ErrorCode, type Logger } from "@pcapfleet/core";
import type { Connection, Db, Queryable } from "../db/index.js";
import { addDays, dayLiteral, dayStart, partitionDay, partitionName } from "./days.js";
import { createPeriodic } from "./periodic.js";

/**
 * Creates daily partitions ahead of time and drops those past retention, for every
 * time-partitioned table. Several collectors may run it at once: each run holds one
 * session-level advisory lock, and everything it does is decided after taking the lock from
 * the catalog as it is then, so a second run finds the work done and does nothing.
 */

/** One partitioned table the manager looks after. */
export interface PartitionedTable {
  /** Table name (unquoted, lower-case); it must be PARTITION BY RANGE on `column`. */
  readonly table: string;
  /** The timestamptz partition key. */
  readonly column: string;
  /** Partitions whose whole day is older than this many days are dropped. */
  readonly retentionDays: number;
}

/** The tables partitioned by migrations 001 and 002, with their default retention. */
export const defaultPartitionedTables: readonly PartitionedTable[] = Object.freeze([
  { table: "sensor_health", column: "received_at", retentionDays: 14 },
  { table: "sensor_status_history", column: "changed_at", retentionDays: 90 },
  { table: "subnet_traffic", column: "minute_start", retentionDays: 30 },
  { table: "audit_log", column: "at", retentionDays: 365 },
]);

/** Dependencies and settings of {@link createPartitionManager}. */
export interface PartitionManagerOptions {
  readonly db: Db;
  readonly log: Logger;
  /** Tables to manage; {@link defaultPartitionedTables} when absent. */
  readonly tables?: readonly PartitionedTable[];
  /** Days of partitions kept ready after today (today-1 to today+aheadDays exist); default 3. */
  readonly aheadDays?: number;
  /** Clock, for tests. */
  readonly now?: () => Date;
  /** Period of `start()`'s runs; one hour when absent. */
  readonly intervalMs?: number;
}

/** What one {@link PartitionManager.runOnce} changed. */
export interface PartitionRunReport {
  /** Partitions created, by name. */
  readonly created: string[];
  /** Partitions dropped, by name. */
  readonly dropped: string[];
  /** Rows moved out of default partitions into partitions created for their day. */
  movedRows: number;
  /** Configured tables that do not exist (yet) or are not partitioned; skipped. */
  readonly skipped: string[];
}

/** Keeps daily partitions in place; see {@link createPartitionManager}. */
export interface PartitionManager {
  /** One pass over every table: create what is missing, drop what is past retention. */
  runOnce(): Promise<PartitionRunReport>;
  /** Runs now and then every interval; failures are logged, never thrown. */
  start(): void;
  /** Stops the schedule and waits for a running pass to finish. */
  stop(): Promise<void>;
}

/**
 * Key of the advisory lock held during a pass: an arbitrary constant beside the migration
 * lock's, below 2^53 so it survives as a JS number.
 */
export const partitionLockKey = 7_261_524_117_280_306;

const identifier = /^[a-z_][a-z0-9_]{0,62}$/;

function checkTable(spec: PartitionedTable): void {
  for (const name of [spec.table, spec.column]) {
    if (!identifier.test(name)) {
      throw new AppError(
        ErrorCode.InvalidArgument,
        `partitions: "${name}" is not a plain lower-case identifier`,
      );
    }
  }
  if (!(Number.isInteger(spec.retentionDays) && spec.retentionDays >= 1)) {
    throw new AppError(
      ErrorCode.InvalidArgument,
      `partitions: retentionDays of ${spec.table} must be a whole number of days >= 1`,
    );
  }
}

/** Creates a partition manager; nothing runs until `runOnce()` or `start()`. */
export function createPartitionManager(options: PartitionManagerOptions): PartitionManager {
  const { db, log } = options;
  const tables = options.tables ?? defaultPartitionedTables;
  const aheadDays = options.aheadDays ?? 3;
  const now = options.now ?? (() => new Date());
  const intervalMs = options.intervalMs ?? 3_600_000;
  for (const spec of tables) checkTable(spec);
  if (!(Number.isInteger(aheadDays) && aheadDays >= 0)) {
    throw new AppError(ErrorCode.InvalidArgument, "partitions: aheadDays must be a whole number >= 0");
  }

  async function runOnce(): Promise<PartitionRunReport> {
    const report: PartitionRunReport = { created: [], dropped: [], movedRows: 0, skipped: [] };
    await db.withConnection(async (conn) => {
      await conn.query("SELECT pg_advisory_lock($1)", [partitionLockKey]);
      try {
        const at = now();
        for (const spec of tables) await maintainTable(conn, spec, at, report);
      } finally {
        await conn
          .query("SELECT pg_advisory_unlock($1)", [partitionLockKey])
          .catch((error: unknown) => log.warn({ err: error }, "partitions: advisory unlock failed"));
      }
    });
    if (report.created.length > 0 || report.dropped.length > 0) {
      log.info(
        { created: report.created, dropped: report.dropped, movedRows: report.movedRows },
        "partitions: maintained",
      );
    }
    return report;
  }

  async function maintainTable(
    conn: Connection,
    spec: PartitionedTable,
    at: Date,
    report: PartitionRunReport,
  ): Promise<void> {
    const info = await conn.query<{ default_partition: string | null }>(
      `SELECT CASE WHEN pt.partdefid = 0 THEN NULL ELSE pt.partdefid::regclass::text END AS default_partition
         FROM pg_partitioned_table pt
        WHERE pt.partrelid = to_regclass($1)`,
      [spec.table],
    );
    const table = info.rows[0];
    if (table === undefined) {
      report.skipped.push(spec.table);
      log.debug({ table: spec.table }, "partitions: table missing or not partitioned, skipped");
      return;
    }
    const existing = await conn.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = to_regclass($1)`,
      [spec.table],
    );
    const days = new Map<number, string>();
    for (const { name } of existing.rows) {
      const day = partitionDay(spec.table, name);
      if (day !== undefined) days.set(day, name);
    }

    const today = dayStart(at);
    for (let offset = -1; offset <= aheadDays; offset += 1) {
      const day = addDays(today, offset);
      if (days.has(day)) continue;
      const moved = await conn.transaction((tx) => createPartition(tx, spec, day, table.default_partition));
      report.created.push(partitionName(spec.table, day));
      report.movedRows += moved;
    }

    // A partition goes once its whole day is older than the cut-off, not merely its start.
    const cutoff = at.getTime() - spec.retentionDays * 86_400_000;
    for (const [day, name] of days) {
      if (addDays(day, 1) > cutoff) continue;
      await conn.exec(`DROP TABLE IF EXISTS "${name}"`);
      report.dropped.push(name);
    }
    // Rows that fell into the default partition for days that never got a partition (the
    // manager was down) would otherwise be kept forever.
    if (table.default_partition !== null) {
      await conn.query(`DELETE FROM ${table.default_partition} WHERE "${spec.column}" < $1`, [
        new Date(cutoff).toISOString(),
      ]);
    }
  }

  const schedule = createPeriodic({
    run: runOnce,
    intervalMs,
    log,
    failure: "partitions: maintenance pass failed",
  });
  return { runOnce, start: schedule.start, stop: schedule.stop };
}

/**
 * Creates the partition of `day` without tripping over rows already in the default partition:
 * `CREATE TABLE ... PARTITION OF` would fail if the default held rows of that day, so the table
 * is created standalone, those rows are moved into it, and it is attached — all in the caller's
 * transaction, so no reader sees the rows missing. Returns the number of rows moved.
 */
async function createPartition(
  tx: Queryable,
  spec: PartitionedTable,
  day: number,
  defaultPartition: string | null,
): Promise<number> {
  const name = partitionName(spec.table, day);
  const from = dayLiteral(day);
  const to = dayLiteral(addDays(day, 1));
  await tx.exec(`CREATE TABLE "${name}" (LIKE "${spec.table}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
  let moved = 0;
  if (defaultPartition !== null) {
    const result = await tx.query(
      `WITH moved AS (
         DELETE FROM ${defaultPartition} WHERE "${spec.column}" >= $1 AND "${spec.column}" < $2 RETURNING *
       )
       INSERT INTO "${name}" SELECT * FROM moved`,
      [from, to],
    );
    moved = result.rowCount;
  }
  // ATTACH builds the parent's indexes on the new table.
  await tx.exec(
    `ALTER TABLE "${spec.table}" ATTACH PARTITION "${name}" FOR VALUES FROM ('${from}') TO ('${to}')`,
  );
  return moved;
}
