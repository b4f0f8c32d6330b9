/**
 * The rollups of `subnet_traffic` (sql/004_network.sql): per hour by location, direction and
 * prefix; per hour and per day by prefix; per minute and per hour by location and direction;
 * flows between locations per hour. Ingest marks every hour it
 * writes in `subnet_traffic_dirty` (a statement trigger); each run here claims some of those
 * hours and recomputes them whole from the raw rows, so replays (which replace raw rows) and
 * late summaries end up in the rollups like first-time rows. Hours past retention are skipped:
 * their raw partitions are gone, and recomputing from the few late rows would shrink them.
 */
import { randomUUID } from "node:crypto";
import type { Queryable } from "../db/index.js";
import { homeLateral } from "./lookup.js";

/**
 * Runs `fn` in its own short transaction holding the network maintenance lock; resolves to
 * undefined when another collector holds it. The maintenance is a series of such steps, each
 * bounded (one location's hour, one hour of a level), so no step holds the database for long:
 * PGlite has one connection, and everything else waits while a step runs.
 */
export type MaintenanceStep = <T>(fn: (tx: Queryable) => Promise<T>) => Promise<T | undefined>;

/** Hours claimed at a time: a backlog is worked through a chunk of marks at a time. */
export const hoursPerChunk = 6;

const hourMs = 3_600_000;
const dayMs = 86_400_000;

/** Every per-hour rollup, keyed by `hour_start`. */
const hourTables = [
  "subnet_traffic_hourly",
  "prefix_traffic_hourly",
  "location_traffic_hourly",
  "location_flows_hourly",
] as const;

/** How long a claim holds its marks before another run may take them over (a run takes seconds). */
export const claimLeaseS = 900;

/**
 * Claims up to {@link hoursPerChunk} marked hours at or after `$1` that are not in `$3` (hours
 * this run did already: ingest marks the current hour again every few seconds, and a run must
 * end), newest first: every unclaimed (or lease-expired) mark of those hours gets claim `$4`
 * until `$5` seconds from now; marks older than `$1` go. A mark written by a transaction still
 * open is invisible here and stays unclaimed for the next run, as does one written after this
 * commits: the hours are recomputed after it.
 */
const claimSql = `WITH gone AS (
    DELETE FROM subnet_traffic_dirty WHERE hour_start < $1
  ),
  picked AS (
    SELECT DISTINCT hour_start FROM subnet_traffic_dirty
     WHERE hour_start >= $1 AND hour_start <> ALL ($3::timestamptz[])
       AND (claimed_until IS NULL OR claimed_until < now())
     ORDER BY hour_start DESC LIMIT $2
  ),
  claimed AS (
    UPDATE subnet_traffic_dirty d SET claim = $4, claimed_until = now() + $5 * interval '1 second'
     WHERE d.hour_start IN (SELECT hour_start FROM picked)
       AND (d.claimed_until IS NULL OR d.claimed_until < now())
    RETURNING d.hour_start
  )
  SELECT DISTINCT hour_start FROM claimed ORDER BY hour_start`;

/** The hours of claim `$1` are recomputed: its marks go. */
const finishSql = "DELETE FROM subnet_traffic_dirty WHERE claim = $1";

/** Claim `$1` could not finish: its marks are free for the next run. */
const releaseSql = "UPDATE subnet_traffic_dirty SET claim = NULL, claimed_until = NULL WHERE claim = $1";

/** `$1` an hour: locations with raw rows in it or rollup rows of it (whose rows may have gone). */
const hourLocations = `SELECT DISTINCT location FROM subnet_traffic
   WHERE minute_start >= $1::timestamptz AND minute_start < $1::timestamptz + interval '1 hour'
  UNION SELECT location FROM subnet_traffic_hourly WHERE hour_start = $1::timestamptz
  UNION SELECT location FROM location_traffic_hourly WHERE hour_start = $1::timestamptz
  ORDER BY 1`;

/** `$1` an hour, `$2` a location: that location's rows of the three per-location levels. */
const deleteLocationHour = [
  "DELETE FROM subnet_traffic_hourly WHERE hour_start = $1::timestamptz AND location = $2::text",
  "DELETE FROM location_traffic_hourly WHERE hour_start = $1::timestamptz AND location = $2::text",
  `DELETE FROM location_traffic_minutely WHERE location = $2::text
     AND minute_start >= $1::timestamptz AND minute_start < $1::timestamptz + interval '1 hour'`,
] as const;

/**
 * One scan of a location's raw rows of an hour (its sensors summed) feeds the three levels kept
 * per location. `$1` the hour, `$2` the location.
 */
const insertLocationHour = `WITH agg AS MATERIALIZED (
    SELECT t.minute_start, t.direction, t.prefix, sum(t.bytes)::bigint AS bytes, sum(t.packets)::bigint AS packets
      FROM subnet_traffic t
     WHERE t.location = $2::text
       AND t.minute_start >= $1::timestamptz AND t.minute_start < $1::timestamptz + interval '1 hour'
     GROUP BY 1, 2, 3
  ),
  hourly AS (
    INSERT INTO subnet_traffic_hourly
      (hour_start, location, direction, prefix, bytes, packets, first_minute, last_minute)
    SELECT $1::timestamptz, $2::text, direction, prefix, sum(bytes), sum(packets), min(minute_start), max(minute_start)
      FROM agg GROUP BY direction, prefix
    RETURNING 1
  ),
  per_location AS (
    INSERT INTO location_traffic_hourly (hour_start, location, direction, bytes, packets)
    SELECT $1::timestamptz, $2::text, direction, sum(bytes), sum(packets) FROM agg GROUP BY direction
    RETURNING 1
  ),
  minutely AS (
    INSERT INTO location_traffic_minutely (minute_start, location, direction, bytes, packets)
    SELECT minute_start, $2::text, direction, sum(bytes), sum(packets) FROM agg GROUP BY minute_start, direction
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM hourly)::int AS hourly, (SELECT count(*) FROM per_location)::int AS locations,
         (SELECT count(*) FROM minutely)::int AS minutes`;

/**
 * `$1` an hour: the per-prefix level from the per-location one (the same sums as from the raw
 * rows: the location level is their exact sum, and its first/last minutes their bounds).
 */
const deletePrefixHour = "DELETE FROM prefix_traffic_hourly WHERE hour_start = $1::timestamptz";
const insertPrefixHour = `INSERT INTO prefix_traffic_hourly (hour_start, prefix, bytes_sent, packets_sent, bytes_received,
                                     packets_received, seen_at, first_minute, last_minute)
  SELECT hour_start, prefix,
         COALESCE(sum(bytes) FILTER (WHERE direction = 'src'), 0), COALESCE(sum(packets) FILTER (WHERE direction = 'src'), 0),
         COALESCE(sum(bytes) FILTER (WHERE direction = 'dst'), 0), COALESCE(sum(packets) FILTER (WHERE direction = 'dst'), 0),
         array_agg(DISTINCT location ORDER BY location), min(first_minute), max(last_minute)
    FROM subnet_traffic_hourly WHERE hour_start = $1::timestamptz
   GROUP BY 1, 2`;

/**
 * `$1` an hour: its flows, attributed with the map as it is now: destination rows of each
 * location whose prefix the map places at another location. Each prefix is looked up once, and
 * its rows are carried along in arrays instead of joined back: the hour's rows are new, so the
 * planner's estimate of them is stale and a join back could be a nested loop over rows × prefixes.
 */
const insertFlowsHour = `INSERT INTO location_flows_hourly (hour_start, from_location, to_location, bytes, packets)
  WITH per_prefix AS (
    SELECT prefix, array_agg(location) AS locations, array_agg(bytes) AS bytes, array_agg(packets) AS packets
      FROM subnet_traffic_hourly WHERE direction = 'dst' AND hour_start = $1::timestamptz
     GROUP BY prefix
  )
  SELECT $1::timestamptz, u.location, h.location, sum(u.bytes), sum(u.packets)
    FROM per_prefix p CROSS JOIN ${homeLateral("p.prefix")} h
         CROSS JOIN LATERAL unnest(p.locations, p.bytes, p.packets) AS u (location, bytes, packets)
   WHERE h.location <> u.location
   GROUP BY 2, 3`;
const deleteFlowsHour = "DELETE FROM location_flows_hourly WHERE hour_start = $1::timestamptz";

/** `$1` days: the daily per-prefix level from the hourly one (seen_at: the union of the hours'). */
const deleteDays = `DELETE FROM prefix_traffic_daily WHERE day_start = ANY ($1::timestamptz[])`;
const insertDays = `WITH h AS MATERIALIZED (
    SELECT d.day_start, h.*
      FROM unnest($1::timestamptz[]) AS d (day_start)
      JOIN prefix_traffic_hourly h ON h.hour_start >= d.day_start AND h.hour_start < d.day_start + interval '24 hours'
  ),
  seen AS (
    SELECT d.day_start, d.prefix, array_agg(DISTINCT l ORDER BY l) AS seen_at
      FROM (SELECT DISTINCT day_start, prefix, seen_at FROM h) d CROSS JOIN unnest(d.seen_at) AS l GROUP BY 1, 2
  )
  INSERT INTO prefix_traffic_daily (day_start, prefix, bytes_sent, packets_sent, bytes_received, packets_received,
                                    seen_at, first_minute, last_minute)
  SELECT h.day_start, h.prefix, sum(h.bytes_sent), sum(h.packets_sent), sum(h.bytes_received),
         sum(h.packets_received), seen.seen_at, min(h.first_minute), max(h.last_minute)
    FROM h JOIN seen USING (day_start, prefix)
   GROUP BY h.day_start, h.prefix, seen.seen_at`;

/** Hours one run claimed ({@link claimHours}). */
export interface HourClaim {
  /** Names the claim on its marks. */
  readonly claim: string;
  /** Hours claimed (ISO), oldest first; empty when nothing was marked. */
  readonly hours: readonly string[];
}

/** What one chunk recomputed. */
export interface ChunkReport {
  /** Hours recomputed (ISO); empty when nothing was marked. */
  readonly hours: readonly string[];
  /** Rows written to the hourly rollup. */
  readonly hourlyRows: number;
  /** False when another collector took the lock midway (the claim's marks are released). */
  readonly complete: boolean;
}

/**
 * Claims up to {@link hoursPerChunk} marked hours (not before `notBefore`, none of `done`) in
 * the caller's transaction (which must hold the network maintenance lock).
 */
export async function claimHours(
  tx: Queryable,
  notBefore: Date,
  done: readonly string[] = [],
): Promise<HourClaim> {
  const claim = randomUUID();
  const claimed = await tx.query<{ hour_start: Date }>(claimSql, [
    notBefore.toISOString(),
    hoursPerChunk,
    done,
    claim,
    claimLeaseS,
  ]);
  return { claim, hours: claimed.rows.map((r) => r.hour_start.toISOString()) };
}

/** The UTC days (ISO) `hours` fall in. */
function daysOf(hours: readonly string[]): string[] {
  return [...new Set(hours.map((h) => new Date(Math.floor(Date.parse(h) / dayMs) * dayMs).toISOString()))];
}

/**
 * Recomputes claimed `hours` and the UTC days they fall in, one short step at a time: per hour,
 * each location's rows (a step each), then the per-prefix level and the flows of the hour (a
 * step), then each day's level (a step); then the claim's marks go. Readers meanwhile see
 * each location's hour either as before or as after, never half of it. When a step cannot take
 * the lock or fails, the claim is released, so the next run recomputes the hours whole (a
 * recompute is idempotent); when the collector dies, the claim's lease runs out.
 */
export async function rollUpHours(
  db: Queryable,
  step: MaintenanceStep,
  claimed: HourClaim,
): Promise<ChunkReport> {
  const { claim, hours } = claimed;
  let hourlyRows = 0;
  // Releasing needs no lock: whichever collector runs next recomputes the hours.
  const stopped = async (): Promise<ChunkReport> => {
    await db.query(releaseSql, [claim]);
    return { hours, hourlyRows, complete: false };
  };
  try {
    for (const hour of hours) {
      const locations = await step((tx) => tx.query<{ location: string }>(hourLocations, [hour]));
      if (locations === undefined) return stopped();
      for (const { location } of locations.rows) {
        const written = await step(async (tx) => {
          for (const sql of deleteLocationHour) await tx.query(sql, [hour, location]);
          return (
            (await tx.query<{ hourly: number }>(insertLocationHour, [hour, location])).rows[0]?.hourly ?? 0
          );
        });
        if (written === undefined) return stopped();
        hourlyRows += written;
      }
      const levels = await step(async (tx) => {
        await tx.query(deletePrefixHour, [hour]);
        await tx.query(insertPrefixHour, [hour]);
        await tx.query(deleteFlowsHour, [hour]);
        await tx.query(insertFlowsHour, [hour]);
        return true;
      });
      if (levels === undefined) return stopped();
    }
    for (const day of daysOf(hours)) {
      const done = await step(async (tx) => {
        await tx.query(deleteDays, [[day]]);
        await tx.query(insertDays, [[day]]);
        return true;
      });
      if (done === undefined) return stopped();
    }
  } catch (error) {
    // The marks were claimed in an earlier step: free them before giving up.
    await db.query(releaseSql, [claim]).catch(() => undefined);
    throw error;
  }
  await db.query(finishSql, [claim]);
  return { hours, hourlyRows, complete: true };
}

/**
 * Re-attributes the flows of the hours at or after `since` with the map as it is now (after
 * the map changed), an hour per step. Returns the flow rows written, or undefined when another
 * collector took the lock midway.
 */
export async function reattributeFlows(step: MaintenanceStep, since: Date): Promise<number | undefined> {
  // The hours with rollups (a location's hourly rows exist for every hour with destination
  // rows) or flows: tens of rows an hour, where the per-prefix levels have thousands.
  const found = await step((tx) =>
    tx.query<{ hour_start: Date }>(
      `SELECT hour_start FROM location_traffic_hourly WHERE hour_start >= $1
       UNION SELECT hour_start FROM location_flows_hourly WHERE hour_start >= $1 ORDER BY 1`,
      [since.toISOString()],
    ),
  );
  if (found === undefined) return undefined;
  let written = 0;
  for (const { hour_start } of found.rows) {
    const hour = hour_start.toISOString();
    const rows = await step(async (tx) => {
      await tx.query(deleteFlowsHour, [hour]);
      return (await tx.query(insertFlowsHour, [hour])).rowCount;
    });
    if (rows === undefined) return undefined;
    written += rows;
  }
  return written;
}

/**
 * Deletes rollup rows older than `cutoff` (the raw table's retention), a table per step;
 * returns rows deleted, or undefined when another collector took the lock midway.
 */
export async function pruneRollups(step: MaintenanceStep, cutoff: Date): Promise<number | undefined> {
  const hourCut = new Date(Math.floor(cutoff.getTime() / hourMs) * hourMs).toISOString();
  const dayCut = new Date(Math.floor(cutoff.getTime() / dayMs) * dayMs).toISOString();
  const deletes: readonly (readonly [string, string])[] = [
    ...hourTables.map((table) => [`DELETE FROM ${table} WHERE hour_start < $1`, hourCut] as const),
    ["DELETE FROM prefix_traffic_daily WHERE day_start < $1", dayCut],
    ["DELETE FROM location_traffic_minutely WHERE minute_start < $1", cutoff.toISOString()],
  ];
  let deleted = 0;
  for (const [sql, cut] of deletes) {
    const rows = await step(async (tx) => (await tx.query(sql, [cut])).rowCount);
    if (rows === undefined) return undefined;
    deleted += rows;
  }
  return deleted;
}
