/**
 * Subnets with traffic in a window (`GET /network/subnets`) and the top subnets by volume
 * (analytics), over the per-prefix rollups (`window.ts`; per location when one is asked for). A subnet's location is where the map
 * places it (best entries, `lookup.ts`), null when the map does not know it; where it was
 * *seen* is the locations whose sensors counted it.
 */
import type { Queryable } from "../db/index.js";
import type { Prefix } from "./cidr.js";
import { bestEntryOrder, type MapSource } from "./lookup.js";
import { prefixRows, SqlParams, type Window } from "./window.js";

/** One subnet with traffic in the window. */
export interface ActiveSubnet {
  prefix: string;
  /** Where the map places it (several on a tie); empty when unmapped. */
  locations: string[];
  /** The winning entries' source; null when unmapped. */
  source: MapSource | null;
  /** Locations whose sensors saw it. */
  seen_at: string[];
  first_seen: string;
  last_seen: string;
  /** As source: traffic it sent. */
  bytes_sent: number;
  packets_sent: number;
  /** As destination: traffic it received. */
  bytes_received: number;
  packets_received: number;
}

/** Filters of {@link activeSubnets}. */
export interface SubnetFilter {
  /** Only subnets the map places at this location. */
  readonly location?: string | undefined;
  /** Only subnets whose placement comes from this source (`unmapped`: not in the map). */
  readonly source?: MapSource | "unmapped" | undefined;
  /** Only subnets inside this prefix. */
  readonly within?: Prefix | undefined;
  readonly limit: number;
}

/** One row of {@link topSubnets}. */
export interface TopSubnet {
  prefix: string;
  locations: string[];
  source: MapSource | null;
  bytes: number;
  packets: number;
}

/** `LEFT JOIN LATERAL` giving `locations` (text[], empty when unmapped) and `source` of `prefixSql`. */
const placement = (prefixSql: string): string => `LEFT JOIN LATERAL (
    SELECT array_agg(best.location ORDER BY best.location) AS locations, min(best.source) AS source FROM (
      SELECT m.location, m.source, rank() OVER (ORDER BY ${bestEntryOrder("m")}) AS r
        FROM subnet_location_map m WHERE m.prefix >>= ${prefixSql}
    ) best WHERE best.r = 1
  ) place ON true`;

const iso = (column: string): string =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Subnets with traffic in `window`, biggest (sent + received) first, at most `filter.limit`. */
export async function activeSubnets(
  db: Queryable,
  window: Window,
  filter: SubnetFilter,
): Promise<{ subnets: ActiveSubnet[]; truncated: boolean }> {
  const params = new SqlParams();
  const within = filter.within === undefined ? "true" : `prefix <<= ${params.add(filter.within.text)}::cidr`;
  const rows = prefixRows(window, params, within);
  const where: string[] = [];
  if (filter.location !== undefined) where.push(`${params.add(filter.location)} = ANY (place.locations)`);
  if (filter.source === "unmapped") where.push("place.source IS NULL");
  else if (filter.source !== undefined) where.push(`place.source = ${params.add(filter.source)}`);
  const limit = params.add(filter.limit + 1);
  const { rows: out } = await db.query<ActiveSubnet>(
    `WITH r AS (${rows}),
     per_prefix AS (
       SELECT prefix, min(first_minute) AS first_seen, max(last_minute) AS last_seen,
              sum(bytes_sent)::bigint AS bytes_sent, sum(packets_sent)::bigint AS packets_sent,
              sum(bytes_received)::bigint AS bytes_received, sum(packets_received)::bigint AS packets_received
         FROM r GROUP BY prefix
     ),
     seen AS (
       -- A prefix's hours mostly share one set of locations: unnest each distinct set once.
       SELECT d.prefix, array_agg(DISTINCT l ORDER BY l) AS seen_at
         FROM (SELECT DISTINCT prefix, seen_at FROM r) d CROSS JOIN unnest(d.seen_at) AS l GROUP BY d.prefix
     )
     SELECT p.prefix::text AS prefix, COALESCE(place.locations, '{}') AS locations, place.source,
            seen.seen_at, ${iso("p.first_seen")} AS first_seen, ${iso("p.last_seen")} AS last_seen,
            p.bytes_sent, p.packets_sent, p.bytes_received, p.packets_received
       FROM per_prefix p JOIN seen ON seen.prefix = p.prefix ${placement("p.prefix")}
      ${where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`}
      ORDER BY p.bytes_sent + p.bytes_received DESC, p.prefix
      LIMIT ${limit}`,
    params.values,
  );
  const truncated = out.length > filter.limit;
  return { subnets: truncated ? out.slice(0, filter.limit) : out, truncated };
}

/** Filters of {@link topSubnets}. */
export interface TopFilter {
  /** Which side of the packets counts: `src` (sent), `dst` (received) or `both`. */
  readonly direction: "src" | "dst" | "both";
  /** Only traffic seen at this location's sensors. */
  readonly location?: string | undefined;
  readonly limit: number;
}

/** The `limit` subnets with the most bytes in `window`. */
export async function topSubnets(db: Queryable, window: Window, filter: TopFilter): Promise<TopSubnet[]> {
  const params = new SqlParams();
  let rows: string;
  if (filter.location === undefined) {
    // Over every location: the per-prefix levels, sent and/or received.
    const pick = (sent: string, received: string) =>
      filter.direction === "src" ? sent : filter.direction === "dst" ? received : `${sent} + ${received}`;
    rows = `SELECT prefix, ${pick("bytes_sent", "bytes_received")} AS bytes,
                   ${pick("packets_sent", "packets_received")} AS packets
              FROM (${prefixRows(window, params)}) x`;
  } else {
    // Seen at one location: its hourly rows (an index on location and hour).
    const where = [
      `location = ${params.add(filter.location)}`,
      `hour_start >= ${params.add(window.from.toISOString())}`,
      `hour_start < ${params.add(window.to.toISOString())}`,
    ];
    if (filter.direction !== "both") where.push(`direction = ${params.add(filter.direction)}`);
    rows = `SELECT prefix, bytes, packets FROM subnet_traffic_hourly WHERE ${where.join(" AND ")}`;
  }
  const { rows: out } = await db.query<TopSubnet>(
    `WITH top AS (
       SELECT prefix, sum(bytes)::bigint AS bytes, sum(packets)::bigint AS packets
         FROM (${rows}) r GROUP BY prefix HAVING sum(packets) > 0
        ORDER BY bytes DESC, prefix LIMIT ${params.add(filter.limit)}
     )
     SELECT t.prefix::text AS prefix, COALESCE(place.locations, '{}') AS locations, place.source, t.bytes, t.packets
       FROM top t ${placement("t.prefix")}
      ORDER BY t.bytes DESC, t.prefix`,
    params.values,
  );
  return out;
}
