/**
 * Traffic per location and between locations (`GET /network/traffic`, the traffic-over-time
 * analytics), aggregated in SQL over the rollups (`window.ts` picks the table).
 *
 * Definitions. Every IP packet a sensor sees is counted once under its source prefix and once
 * under its destination prefix (agent summaries), and a location's figures sum its sensors.
 * - Traffic **at** location A: the source-direction bytes and packets of A's sensors (each
 *   packet once per sensor that saw it).
 * - Traffic **from A to B** (A ≠ B): packets seen at A's sensors whose destination prefix maps
 *   to B (the map's best entries, `lookup.ts`). Summaries count source and destination prefixes
 *   separately, so the source of such a packet is not known: it is taken to be A, since a
 *   site's sensors see the traffic leaving it, and each flow is counted once, at the sending
 *   site. Transit traffic seen at A (neither end at A) would count as A's. A destination prefix
 *   mapped to two locations counts toward each. Flows are attributed when their hour is rolled
 *   up, with the map of then; when the map changes, the hours of the learner's lookback window
 *   (default 24 h) are attributed again, older ones keep theirs. The minutes at either end of a
 *   window that does not start and end on whole hours are attributed with the current map.
 */

import { AppError, ErrorCode } from "@pcapfleet/core";
import type { Queryable } from "../db/index.js";
import type { Prefix } from "./cidr.js";
import { homeLateral } from "./lookup.js";
import { type Bucket, flowCtes, SqlParams, type Window } from "./window.js";

/** One point of a per-location series. */
export interface LocationPoint {
  time: string;
  location: string;
  bytes: number;
  packets: number;
}

/** Traffic from one location to another over the window. */
export interface Flow {
  from_location: string;
  to_location: string;
  bytes: number;
  packets: number;
}

/** `GET /network/traffic`. */
export interface TrafficSummary {
  from: string;
  to: string;
  bucket: Bucket;
  /** Totals per location over the window, biggest first. */
  locations: { location: string; bytes: number; packets: number }[];
  /** Per bucket and location, by time then location; buckets without traffic are absent. */
  series: LocationPoint[];
  /** Between locations, biggest first. */
  flows: Flow[];
}

/** A series point of {@link trafficOverTime}. */
export interface Point {
  time: string;
  bytes: number;
  packets: number;
}

/** Filters of {@link trafficOverTime}. */
export interface OverTimeFilter {
  /** Seen at this location's sensors; every location when absent. */
  readonly location?: string | undefined;
  /** The flow to this location (from `location`, or from every other one); not with `prefix`. */
  readonly toLocation?: string | undefined;
  /** Only prefixes inside this one. */
  readonly prefix?: Prefix | undefined;
  readonly direction: "src" | "dst";
}

const truncate = (bucket: Bucket, column: string): string =>
  bucket === "minute" ? column : `date_trunc('${bucket}', ${column}, 'UTC')`;

/**
 * Per-location series from the per-location levels (per-minute for minutes, hourly for hours and
 * days). `$1`/`$2` window, `$3` direction, `$4` location or null.
 */
function locationSeriesSql(bucket: Bucket): string {
  const [table, column] =
    bucket === "minute"
      ? ["location_traffic_minutely", "minute_start"]
      : ["location_traffic_hourly", "hour_start"];
  return `SELECT ${truncate(bucket, column)} AS time, location,
         sum(bytes)::bigint AS bytes, sum(packets)::bigint AS packets
      FROM ${table}
     WHERE ${column} >= $1 AND ${column} < $2 AND direction = $3 AND ($4::text IS NULL OR location = $4)
     GROUP BY 1, 2 ORDER BY 1, 2`;
}

interface SeriesRow {
  time: Date;
  location: string;
  bytes: number;
  packets: number;
}

/** Flows of `window` (from or to `location` when given), biggest first. */
async function flows(db: Queryable, window: Window, location: string | undefined): Promise<Flow[]> {
  const params = new SqlParams();
  const ctes = flowCtes(window, params);
  const at = location === undefined ? undefined : params.add(location);
  const { rows } = await db.query<Flow>(
    `WITH ${ctes}
     SELECT from_location, to_location, sum(bytes)::bigint AS bytes, sum(packets)::bigint AS packets
       FROM flows ${at === undefined ? "" : `WHERE from_location = ${at} OR to_location = ${at}`}
      GROUP BY 1, 2 ORDER BY bytes DESC, 1, 2`,
    params.values,
  );
  return rows;
}

/** `GET /network/traffic`: per-location totals and series, and flows between locations. */
export async function trafficSummary(
  db: Queryable,
  window: Window,
  bucket: Bucket,
  location?: string,
): Promise<TrafficSummary> {
  const { rows } = await db.query<SeriesRow>(locationSeriesSql(bucket), [
    window.from.toISOString(),
    window.to.toISOString(),
    "src",
    location ?? null,
  ]);
  const totals = new Map<string, { location: string; bytes: number; packets: number }>();
  const series = rows.map((row) => {
    const total = totals.get(row.location) ?? { location: row.location, bytes: 0, packets: 0 };
    total.bytes += row.bytes;
    total.packets += row.packets;
    totals.set(row.location, total);
    return { time: row.time.toISOString(), location: row.location, bytes: row.bytes, packets: row.packets };
  });
  return {
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    bucket,
    locations: [...totals.values()].sort((a, b) => b.bytes - a.bytes || a.location.localeCompare(b.location)),
    series,
    flows: await flows(db, window, location),
  };
}

/** The table and time column a per-prefix series reads, by bucket and whether a location is given. */
function prefixSource(bucket: Bucket, byLocation: boolean, direction: "src" | "dst") {
  if (bucket === "minute") return { table: "subnet_traffic", column: "minute_start", perLocation: true };
  if (byLocation) return { table: "subnet_traffic_hourly", column: "hour_start", perLocation: true };
  const [bytes, packets] =
    direction === "src" ? ["bytes_sent", "packets_sent"] : ["bytes_received", "packets_received"];
  return bucket === "hour"
    ? { table: "prefix_traffic_hourly", column: "hour_start", perLocation: false, bytes, packets }
    : { table: "prefix_traffic_daily", column: "day_start", perLocation: false, bytes, packets };
}

/**
 * One series over `window` by `bucket`: a location's (or every location's) traffic in one
 * direction, optionally only prefixes inside `prefix`; or the flow from `location` (or from
 * anywhere) to `toLocation`.
 *
 * @throws AppError `invalid_argument` when both `prefix` and `toLocation` are given.
 */
export async function trafficOverTime(
  db: Queryable,
  window: Window,
  bucket: Bucket,
  filter: OverTimeFilter,
): Promise<Point[]> {
  const span = [window.from.toISOString(), window.to.toISOString()];
  if (filter.toLocation !== undefined) {
    if (filter.prefix !== undefined) {
      throw new AppError(ErrorCode.InvalidArgument, "to_location and prefix cannot be combined");
    }
    return flowSeries(db, window, bucket, filter.location, filter.toLocation);
  }
  if (filter.prefix === undefined) {
    const { rows } = await db.query<SeriesRow>(locationSeriesSql(bucket), [
      ...span,
      filter.direction,
      filter.location ?? null,
    ]);
    return mergeTimes(rows);
  }
  const source = prefixSource(bucket, filter.location !== undefined, filter.direction);
  const params = new SqlParams();
  const where = [
    `${source.column} >= ${params.add(span[0])}`,
    `${source.column} < ${params.add(span[1])}`,
    `prefix <<= ${params.add(filter.prefix.text)}::cidr`,
  ];
  if (source.perLocation) where.push(`direction = ${params.add(filter.direction)}`);
  if (filter.location !== undefined) where.push(`location = ${params.add(filter.location)}`);
  const [bytes, packets] = source.perLocation ? ["bytes", "packets"] : [source.bytes, source.packets];
  const { rows } = await db.query<{ time: Date; bytes: number; packets: number }>(
    `SELECT ${truncate(bucket, source.column)} AS time, sum(${bytes})::bigint AS bytes, sum(${packets})::bigint AS packets
       FROM ${source.table} WHERE ${where.join(" AND ")}
      GROUP BY 1 HAVING sum(${packets}) > 0 ORDER BY 1`,
    params.values,
  );
  return rows.map((row) => ({ time: row.time.toISOString(), bytes: row.bytes, packets: row.packets }));
}

/** The flow to `to` (from `from`, or from every other location) by bucket. */
async function flowSeries(
  db: Queryable,
  window: Window,
  bucket: Bucket,
  from: string | undefined,
  to: string,
): Promise<Point[]> {
  const params = new SqlParams();
  const start = params.add(window.from.toISOString());
  const end = params.add(window.to.toISOString());
  const target = params.add(to);
  const source = from === undefined ? undefined : params.add(from);
  const rawOrigin = source === undefined ? "true" : `location = ${source}`;
  const flowOrigin = source === undefined ? "true" : `from_location = ${source}`;
  // By minute (windows of hours) the raw rows are attributed now; hours and days read the rollup.
  const sql =
    bucket === "minute"
      ? `WITH r AS MATERIALIZED (
           SELECT minute_start, location, prefix, bytes, packets FROM subnet_traffic
            WHERE minute_start >= ${start} AND minute_start < ${end} AND direction = 'dst' AND ${rawOrigin}
         ),
         homes AS (SELECT p.prefix, h.location FROM (SELECT DISTINCT prefix FROM r) p CROSS JOIN ${homeLateral("p.prefix")} h)
         SELECT r.minute_start AS time, sum(r.bytes)::bigint AS bytes, sum(r.packets)::bigint AS packets
           FROM r JOIN homes ON homes.prefix = r.prefix
          WHERE homes.location = ${target} AND r.location <> ${target}
          GROUP BY 1 ORDER BY 1`
      : `SELECT ${truncate(bucket, "hour_start")} AS time, sum(bytes)::bigint AS bytes, sum(packets)::bigint AS packets
           FROM location_flows_hourly
          WHERE hour_start >= ${start} AND hour_start < ${end} AND to_location = ${target}
            AND ${flowOrigin}
          GROUP BY 1 ORDER BY 1`;
  const { rows } = await db.query<{ time: Date; bytes: number; packets: number }>(sql, params.values);
  return rows.map((row) => ({ time: row.time.toISOString(), bytes: row.bytes, packets: row.packets }));
}

/** Sums location rows of one time into one point. */
function mergeTimes(rows: readonly SeriesRow[]): Point[] {
  const out: Point[] = [];
  for (const row of rows) {
    const time = row.time.toISOString();
    const last = out.at(-1);
    if (last !== undefined && last.time === time) {
      last.bytes += row.bytes;
      last.packets += row.packets;
    } else {
      out.push({ time, bytes: row.bytes, packets: row.packets });
    }
  }
  return out;
}
