/**
 * The rollups of `subnet_traffic` (sql/004_network.sql): per hour by location, direction and
 * prefix; per hour and per day by prefix; per minute and per hour by location and direction;
 * flows between locations per hour. Ingest marks every hour it
 * writes in `subnet_traffic_dirty` (a statement trigger); each run here claims some of those
 * hours and recomputes them whole from the raw rows, so replays (which replace raw rows) and
 * late summaries end up in the rollups like first-time rows. Hours past retention are skipped:
 * their raw partitions are gone, and recomputing from the few late rows would shrink them.
 */
import type { Queryable } from "../db/index.js";
import { homeLateral } from "./lookup.js";

/** Hours recomputed per transaction: a short transaction even when a backlog piles up. */
export const hoursPerChunk = 6;

const hourMs = 3_600_000;
const dayMs = 86_400_000;

/**
 * Claims up to {@link hoursPerChunk} marked hours at or after `$1` that are not in `$3` (hours
 * this run did already: ingest marks the current hour again every few seconds, and a run must
 * end), newest first; all marks of those hours go, and marks older than `$1` too. A mark written
 * by a transaction still open is invisible here and survives for the next claim, after its rows
 * are committed.
 */
const claimHours = `WITH picked AS (
    SELECT DISTINCT hour_start FROM subnet_traffic_dirty
     WHERE hour_start >= $1 AND hour_start <> ALL ($3::timestamptz[])
     ORDER BY hour_start DESC LIMIT $2
  ),
  claimed AS (
    DELETE FROM subnet_traffic_dirty d
     WHERE d.hour_start IN (SELECT hour_start FROM picked) OR d.hour_start < $1
    RETURNING d.hour_start
  )
  SELECT DISTINCT hour_start FROM claimed WHERE hour_start >= $1 ORDER BY hour_start`;

/** Every per-hour rollup, keyed by `hour_start`. */
const hourTables = [
  "subnet_traffic_hourly",
  "prefix_traffic_hourly",
  "location_traffic_hourly",
  "location_flows_hourly",
] as const;
const deleteMinutes = `DELETE FROM location_traffic_minutely m USING unnest($1::timestamptz[]) AS h (hour_start)
  WHERE m.minute_start >= h.hour_start AND m.minute_start < h.hour_start + interval '1 hour'`;

/**
 * One scan of the raw rows of the hours (sensors of a location summed) feeds the four levels
 * that come from raw rows. `$1`: the hours.
 */
const insertHours = `WITH agg AS MATERIALIZED (
    SELECT date_trunc('hour', t.minute_start, 'UTC') AS hour_start, t.minute_start, t.location, t.direction,
           t.prefix, sum(t.bytes)::bigint AS bytes, sum(t.packets)::bigint AS packets
      FROM unnest($1::timestamptz[]) AS h (hour_start)
      JOIN subnet_traffic t
        ON t.minute_start >= h.hour_start AND t.minute_start < h.hour_start + interval '1 hour'
     GROUP BY 2, 3, 4, 5
  ),
  hourly AS (
    INSERT INTO subnet_traffic_hourly
      (hour_start, location, direction, prefix, bytes, packets, first_minute, last_minute)
    SELECT hour_start, location, direction, prefix, sum(bytes), sum(packets), min(minute_start), max(minute_start)
      FROM agg GROUP BY 1, 2, 3, 4
    RETURNING 1
  ),
  per_prefix AS (
    INSERT INTO prefix_traffic_hourly (hour_start, prefix, bytes_sent, packets_sent, bytes_received,
                                       packets_received, seen_at, first_minute, last_minute)
    SELECT hour_start, prefix,
           COALESCE(sum(bytes) FILTER (WHERE direction = 'src'), 0), COALESCE(sum(packets) FILTER (WHERE direction = 'src'), 0),
           COALESCE(sum(bytes) FILTER (WHERE direction = 'dst'), 0), COALESCE(sum(packets) FILTER (WHERE direction = 'dst'), 0),
           array_agg(DISTINCT location ORDER BY location), min(minute_start), max(minute_start)
      FROM agg GROUP BY 1, 2
    RETURNING 1
  ),
  per_location AS (
    INSERT INTO location_traffic_hourly (hour_start, location, direction, bytes, packets)
    SELECT hour_start, location, direction, sum(bytes), sum(packets) FROM agg GROUP BY 1, 2, 3
    RETURNING 1
  ),
  minutely AS (
    INSERT INTO location_traffic_minutely (minute_start, location, direction, bytes, packets)
    SELECT minute_start, location, direction, sum(bytes), sum(packets) FROM agg GROUP BY 1, 2, 3
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM hourly)::int AS hourly, (SELECT count(*) FROM per_prefix)::int AS prefixes,
         (SELECT count(*) FROM per_location)::int AS locations, (SELECT count(*) FROM minutely)::int AS minutes`;

/**
 * Flows of the hours matching `condition` (on `hour_start`), attributed with the map as it is
 * now: destination rows of each location whose prefix the map places at another location.
 */
const insertFlows = (condition: string): string => `INSERT INTO location_flows_hourly
    (hour_start, from_location, to_location, bytes, packets)
  WITH d AS MATERIALIZED (
    SELECT hour_start, location, prefix, bytes, packets
      FROM subnet_traffic_hourly WHERE direction = 'dst' AND ${condition}
  ),
  homes AS (
    SELECT p.prefix, h.location FROM (SELECT DISTINCT prefix FROM d) p CROSS JOIN ${homeLateral("p.prefix")} h
  )
  SELECT d.hour_start, d.location, homes.location, sum(d.bytes), sum(d.packets)
    FROM d JOIN homes ON homes.prefix = d.prefix
   WHERE homes.location <> d.location
   GROUP BY 1, 2, 3`;

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

/** What one chunk recomputed. */
export interface ChunkReport {
  /** Hours recomputed (ISO); empty when nothing was marked. */
  readonly hours: readonly string[];
  /** Rows written to the hourly rollup. */
  readonly hourlyRows: number;
}

/**
 * Claims and recomputes one chunk of marked hours (not before `notBefore`, none of `done`), and
 * the UTC days they fall in, inside the caller's transaction (which must hold the network
 * maintenance lock).
 */
export async function rollUpChunk(
  tx: Queryable,
  notBefore: Date,
  done: readonly string[] = [],
): Promise<ChunkReport> {
  const claimed = await tx.query<{ hour_start: Date }>(claimHours, [
    notBefore.toISOString(),
    hoursPerChunk,
    done,
  ]);
  const hours = claimed.rows.map((r) => r.hour_start.toISOString());
  if (hours.length === 0) return { hours, hourlyRows: 0 };
  for (const table of hourTables) {
    await tx.query(`DELETE FROM ${table} WHERE hour_start = ANY ($1::timestamptz[])`, [hours]);
  }
  await tx.query(deleteMinutes, [hours]);
  const written = await tx.query<{ hourly: number }>(insertHours, [hours]);
  await tx.query(insertFlows("hour_start = ANY ($1::timestamptz[])"), [hours]);
  const days = [
    ...new Set(hours.map((h) => new Date(Math.floor(Date.parse(h) / dayMs) * dayMs).toISOString())),
  ];
  await tx.query(deleteDays, [days]);
  await tx.query(insertDays, [days]);
  return { hours, hourlyRows: written.rows[0]?.hourly ?? 0 };
}

/**
 * Re-attributes the flows of the hours at or after `since` with the map as it is now (after
 * the map changed). Returns the flow rows written.
 */
export async function reattributeFlows(tx: Queryable, since: Date): Promise<number> {
  await tx.query("DELETE FROM location_flows_hourly WHERE hour_start >= $1", [since.toISOString()]);
  return (await tx.query(insertFlows("hour_start >= $1"), [since.toISOString()])).rowCount;
}

/** Deletes rollup rows older than `cutoff` (the raw table's retention); returns rows deleted. */
export async function pruneRollups(tx: Queryable, cutoff: Date): Promise<number> {
  const hourCut = new Date(Math.floor(cutoff.getTime() / hourMs) * hourMs).toISOString();
  const dayCut = new Date(Math.floor(cutoff.getTime() / dayMs) * dayMs).toISOString();
  let deleted = 0;
  for (const table of hourTables) {
    deleted += (await tx.query(`DELETE FROM ${table} WHERE hour_start < $1`, [hourCut])).rowCount;
  }
  deleted += (await tx.query("DELETE FROM prefix_traffic_daily WHERE day_start < $1", [dayCut])).rowCount;
  deleted += (
    await tx.query("DELETE FROM location_traffic_minutely WHERE minute_start < $1", [cutoff.toISOString()])
  ).rowCount;
  return deleted;
}
