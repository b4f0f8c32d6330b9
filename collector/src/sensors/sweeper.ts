import type { Logger } from "@pcapfleet/core";
import type { Db } from "../db/index.js";
import type { Kv } from "../kv/index.js";
import { createPeriodic } from "../partitions/periodic.js";
import { SensorState, StatusReason, sensorStatusChannel } from "./status.js";
import { defaultSensorThresholds, type SensorThresholds } from "./thresholds.js";

/**
 * Marks sensors offline when their heartbeats stop: no heartbeat for `offlineAfterIntervals`
 * of their own intervals. One statement finds, updates and records them; every collector may
 * run it, because a sensor already offline no longer matches, and rows an ingest batch holds
 * are skipped (SKIP LOCKED: a sensor being written is not silent) rather than waited for, so
 * the sweeper never deadlocks with ingest.
 */

/** Dependencies of {@link createOfflineSweeper}. */
export interface OfflineSweeperOptions {
  readonly db: Db;
  readonly kv: Kv;
  readonly log: Logger;
  readonly thresholds?: SensorThresholds;
  /** Clock, for tests. */
  readonly now?: () => Date;
  /** Period of `start()`'s sweeps; default 2 s. */
  readonly intervalMs?: number;
}

/** Marks silent sensors offline; see {@link createOfflineSweeper}. */
export interface OfflineSweeper {
  /** One sweep; resolves to the names of the sensors it marked offline. */
  runOnce(): Promise<string[]>;
  /** Sweeps now and every interval; failures are logged. */
  start(): void;
  /** Stops the schedule and waits for a running sweep. */
  stop(): Promise<void>;
}

interface SweptRow {
  name: string;
  location: string;
  previous_status: string;
  reasons: string[];
}

const sweep = `
WITH stale AS (
  SELECT name, status FROM sensors
   WHERE status <> 'offline'
     AND last_heartbeat_at < $1::timestamptz - make_interval(secs => heartbeat_interval_s * $2)
   ORDER BY name
   FOR UPDATE SKIP LOCKED
), changed AS (
  UPDATE sensors s
     SET status = 'offline',
         status_reasons = ARRAY['${StatusReason.NoHeartbeat}: no heartbeat since ' ||
           to_char(s.last_heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')],
         status_changed_at = $1::timestamptz
    FROM stale
   WHERE s.name = stale.name
  RETURNING s.name, s.location, stale.status AS previous_status, s.status_reasons AS reasons
), recorded AS (
  INSERT INTO sensor_status_history (sensor, status, previous_status, reasons, changed_at)
  SELECT name, 'offline', previous_status, reasons, $1::timestamptz FROM changed
)
SELECT name, location, previous_status, reasons FROM changed ORDER BY name`;

/** Creates the offline sweeper; nothing runs until `runOnce()` or `start()`. */
export function createOfflineSweeper(options: OfflineSweeperOptions): OfflineSweeper {
  const { db, kv, log } = options;
  const thresholds = options.thresholds ?? defaultSensorThresholds;
  const now = options.now ?? (() => new Date());
  const intervalMs = options.intervalMs ?? 2_000;

  async function runOnce(): Promise<string[]> {
    const at = now().toISOString();
    const { rows } = await db.query<SweptRow>(sweep, [at, thresholds.offlineAfterIntervals]);
    for (const row of rows) {
      const change = {
        sensor: row.name,
        location: row.location,
        status: SensorState.Offline,
        previous_status: row.previous_status,
        reasons: row.reasons,
        at,
      };
      await kv.publish(sensorStatusChannel, JSON.stringify(change)).catch((error: unknown) => {
        log.warn({ err: error, sensor: row.name }, "sweeper: publishing a status change failed");
      });
    }
    if (rows.length > 0) log.info({ sensors: rows.map((row) => row.name) }, "sweeper: sensors went offline");
    return rows.map((row) => row.name);
  }

  // Chained runs: a slow sweep is never overlapped by the next one.
  const schedule = createPeriodic({ run: runOnce, intervalMs, log, failure: "sweeper: sweep failed" });
  return { runOnce, start: schedule.start, stop: schedule.stop };
}
