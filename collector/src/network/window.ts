/**
 * Time windows of the traffic queries and the rollup each one reads. A window is `[from, to)`,
 * widened to whole buckets (whole hours when there is no bucket), and bounded per bucket so an
 * answer stays small and fast: a window past the bound is a 400 saying which bucket to use.
 * Rows come from the coarsest rollup that covers the window exactly: whole UTC days from a daily
 * level, whole hours from an hourly one, the minutes at either end from a per-minute level or
 * the raw table.
 */
import { AppError, ErrorCode } from "@pcapfleet/core";
import { homeLateral } from "./lookup.js";

/** Resolution of a series. */
export type Bucket = "minute" | "hour" | "day";

/** Milliseconds per bucket. */
export const bucketMs: Readonly<Record<Bucket, number>> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

/** Longest window per bucket (and for totals, which read hours and days). */
export const maxWindowMs: Readonly<Record<Bucket | "totals", number>> = {
  minute: 6 * 3_600_000,
  hour: 31 * 86_400_000,
  day: 400 * 86_400_000,
  totals: 400 * 86_400_000,
};

/** A resolved window: `[from, to)` on bucket edges. */
export interface Window {
  readonly from: Date;
  readonly to: Date;
}

/** Query parameters naming a window; both optional. */
export interface WindowQuery {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
}

const floorTo = (ms: number, step: number): number => Math.floor(ms / step) * step;
const ceilTo = (ms: number, step: number): number => Math.ceil(ms / step) * step;

const human = (ms: number): string =>
  ms % 86_400_000 === 0 ? `${ms / 86_400_000} days` : `${ms / 3_600_000} hours`;

/**
 * `[from, to)` from the query (default: the `defaultSpanMs` before `to`, `to` defaulting to
 * `now`), widened to `step` edges.
 *
 * @throws AppError `invalid_argument` when `from` is not before `to` or the window is longer than `maxMs`.
 */
export function resolveWindow(
  query: WindowQuery,
  now: Date,
  options: {
    readonly step: number;
    readonly maxMs: number;
    readonly defaultSpanMs: number;
    readonly hint?: string;
  },
): Window {
  const toMs = query.to === undefined ? now.getTime() : Date.parse(query.to);
  const fromMs = query.from === undefined ? toMs - options.defaultSpanMs : Date.parse(query.from);
  if (!(fromMs < toMs)) {
    throw new AppError(ErrorCode.InvalidArgument, "window: from must be before to");
  }
  // The bound applies to the window asked for; widening it to bucket edges adds at most a step.
  if (toMs - fromMs > options.maxMs) {
    throw new AppError(
      ErrorCode.InvalidArgument,
      `window: at most ${human(options.maxMs)}${options.hint === undefined ? "" : ` ${options.hint}`}`,
      { details: { max_ms: options.maxMs } },
    );
  }
  return { from: new Date(floorTo(fromMs, options.step)), to: new Date(ceilTo(toMs, options.step)) };
}

/** {@link resolveWindow} for a series by `bucket` (default span: a day, or 6 hours by minute). */
export function bucketWindow(query: WindowQuery, bucket: Bucket, now: Date): Window {
  const next: Record<Bucket, string> = {
    minute: "by minute; use bucket=hour",
    hour: "by hour; use bucket=day",
    day: "by day",
  };
  return resolveWindow(query, now, {
    step: bucketMs[bucket],
    maxMs: maxWindowMs[bucket],
    defaultSpanMs: bucket === "minute" ? 3_600_000 : bucket === "hour" ? 86_400_000 : 7 * 86_400_000,
    hint: next[bucket],
  });
}

/** {@link resolveWindow} for totals: whole hours, a day by default, at most {@link maxWindowMs}.totals. */
export function totalsWindow(query: WindowQuery, now: Date): Window {
  return resolveWindow(query, now, {
    step: bucketMs.hour,
    maxMs: maxWindowMs.totals,
    defaultSpanMs: 86_400_000,
  });
}

/** Positional parameters of one statement, added as the SQL is built. */
export class SqlParams {
  readonly values: unknown[] = [];
  /** Adds `value`; returns its placeholder (`$n`). */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** `[from, to)` in epoch ms. */
type Range = readonly [number, number];

/** Splits `[from, to)` into its whole `step`s (null when none) and the parts before and after them. */
export function splitRange(from: number, to: number, step: number): { whole: Range | null; rest: Range[] } {
  const first = ceilTo(from, step);
  const last = floorTo(to, step);
  if (first >= last) return { whole: null, rest: from < to ? [[from, to]] : [] };
  const rest: Range[] = [];
  if (from < first) rest.push([from, first]);
  if (last < to) rest.push([last, to]);
  return { whole: [first, last], rest };
}

/** `column >= $a AND column < $b AND where`. */
function inRange(column: string, [a, b]: Range, params: SqlParams, where: string): string {
  const from = params.add(new Date(a).toISOString());
  const to = params.add(new Date(b).toISOString());
  return `${column} >= ${from} AND ${column} < ${to} AND ${where}`;
}

/**
 * SQL selecting per-prefix rows over every location for `window` (whole hours), with columns
 * `prefix, bytes_sent, packets_sent, bytes_received, packets_received, seen_at, first_minute,
 * last_minute`: whole UTC days from the daily level, the other hours from the hourly one.
 * `where` is ANDed to each part (`prefix` is the only other column to filter on).
 */
export function prefixRows(window: Window, params: SqlParams, where = "true"): string {
  const cols =
    "prefix, bytes_sent, packets_sent, bytes_received, packets_received, seen_at, first_minute, last_minute";
  const { whole, rest } = splitRange(window.from.getTime(), window.to.getTime(), bucketMs.day);
  const parts = rest.map(
    (r) => `SELECT ${cols} FROM prefix_traffic_hourly WHERE ${inRange("hour_start", r, params, where)}`,
  );
  if (whole !== null) {
    parts.unshift(
      `SELECT ${cols} FROM prefix_traffic_daily WHERE ${inRange("day_start", whole, params, where)}`,
    );
  }
  return parts.join("\n UNION ALL\n");
}

/**
 * SQL selecting per-location rows of `window` with columns `location, direction, bytes,
 * packets`: whole hours from the hourly level, the minutes at either end from the per-minute one.
 * `where` is ANDed to each part.
 */
export function locationRows(window: Window, params: SqlParams, where = "true"): string {
  const cols = "location, direction, bytes, packets";
  const { whole, rest } = splitRange(window.from.getTime(), window.to.getTime(), bucketMs.hour);
  const parts = rest.map(
    (r) => `SELECT ${cols} FROM location_traffic_minutely WHERE ${inRange("minute_start", r, params, where)}`,
  );
  if (whole !== null) {
    parts.unshift(
      `SELECT ${cols} FROM location_traffic_hourly WHERE ${inRange("hour_start", whole, params, where)}`,
    );
  }
  return parts.join("\n UNION ALL\n");
}

/**
 * CTEs ending in `flows (from_location, to_location, bytes, packets)` for `window`: whole hours
 * from the hourly flows (attributed when they were rolled up), the minutes at either end from
 * the raw rows, attributed with the map as it is now. Use as `WITH ${flowCtes(...)} SELECT ...`.
 */
export function flowCtes(window: Window, params: SqlParams): string {
  const { whole, rest } = splitRange(window.from.getTime(), window.to.getTime(), bucketMs.hour);
  const parts: string[] = [];
  const ctes: string[] = [];
  if (whole !== null) {
    parts.push(
      `SELECT from_location, to_location, bytes, packets FROM location_flows_hourly
        WHERE ${inRange("hour_start", whole, params, "true")}`,
    );
  }
  if (rest.length > 0) {
    const edges = rest.map(
      (r) => `SELECT location, prefix, bytes, packets FROM subnet_traffic
               WHERE ${inRange("minute_start", r, params, "direction = 'dst'")}`,
    );
    ctes.push(
      `edge_rows AS MATERIALIZED (${edges.join("\n UNION ALL\n")})`,
      `edge_homes AS (SELECT p.prefix, h.location FROM (SELECT DISTINCT prefix FROM edge_rows) p
                        CROSS JOIN ${homeLateral("p.prefix")} h)`,
    );
    parts.push(
      `SELECT e.location, h.location, e.bytes, e.packets FROM edge_rows e JOIN edge_homes h ON h.prefix = e.prefix
        WHERE h.location <> e.location`,
    );
  }
  if (parts.length === 0) parts.push("SELECT NULL::text, NULL::text, 0::bigint, 0::bigint WHERE false");
  ctes.push(`flows (from_location, to_location, bytes, packets) AS (${parts.join("\n UNION ALL\n")})`);
  return ctes.join(",\n");
}
