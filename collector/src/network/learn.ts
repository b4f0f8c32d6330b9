/**
 * The learning rule: which location a prefix lives at, from the traffic the sensors saw.
 *
 * A sensor's summaries count every IP packet twice: under its source prefix and under its
 * destination prefix. Traffic *originating* in a prefix shows as source rows, at the sensors of
 * the prefix's own site (every packet it sends passes them) and at the sensors of the sites it
 * talks to (only the packets sent to them). So over the lookback window (default 24 h), per
 * prefix P and location L, with S(P, L) the source bytes and N(P, L) the source packets summed
 * over L's sensors:
 *
 * - L learns P when N(P, L) ≥ `minPackets` and S(P, L) ≥ `minShare` × Σ S(P, every location).
 *   With the default share of 0.5 the home site wins over each site it talks to, a prefix seen
 *   evenly at several sites (an Internet service every site uses) is learned nowhere, and two
 *   locations share a prefix only on an exact tie (two sites that talk only to each other and
 *   whose sensors see the same packets; nothing in marginal counts can separate them).
 * - Only prefixes inside `include` (when set) are learned; a prefix inside a manual entry is
 *   not learned at all: manual entries win (see `lookup.ts`).
 * - A prefix that qualifies somewhere has exactly its qualifying locations as learned entries
 *   (an entry at a location that no longer qualifies is removed: the prefix moved). A prefix
 *   that qualifies nowhere keeps its entries (a quiet weekend does not empty the map) until no
 *   source traffic was seen for `forgetAfterDays`.
 */
import type { NetworkConfig } from "./config.js";
import type { MaintenanceStep } from "./rollup.js";

/** The learning settings of {@link NetworkConfig}. */
export type LearnRule = Pick<
  NetworkConfig,
  "lookbackHours" | "minPackets" | "minShare" | "forgetAfterDays" | "include"
>;

/** What one learning pass changed. */
export interface LearnReport {
  /** Learned entries created. */
  readonly added: number;
  /** Learned entries removed: moved, forgotten, or shadowed by a manual entry. */
  readonly removed: number;
  /** Learned entries confirmed (evidence and last seen updated). */
  readonly confirmed: number;
}

/** `$1` since: the locations with source traffic in the window (a few rows an hour each). */
const sourceLocations = `SELECT DISTINCT location FROM location_traffic_hourly
  WHERE direction = 'src' AND hour_start >= $1 ORDER BY 1`;

/** `$1` a location, `$2` since, `$3` include (cidr[], empty: all): its source evidence per prefix. */
const evidenceSql = `SELECT prefix::text AS prefix, sum(bytes)::bigint AS bytes, sum(packets)::bigint AS packets,
       min(first_minute) AS first_seen, max(last_minute) AS last_seen
  FROM subnet_traffic_hourly
 WHERE location = $1 AND direction = 'src' AND hour_start >= $2
   AND (cardinality($3::cidr[]) = 0 OR prefix <<= ANY ($3::cidr[]))
 GROUP BY prefix`;

/** A location's source evidence of a prefix over the window. */
interface Evidence {
  readonly prefix: string;
  readonly location: string;
  readonly bytes: number;
  readonly packets: number;
  readonly first_seen: Date;
  readonly last_seen: Date;
  /** Of the prefix's source bytes over every location. */
  share: number;
}

/**
 * `$1` the qualifying evidence of some prefixes (JSON). Entries of those prefixes at locations
 * that no longer qualify go; qualifying ones are inserted or refreshed, unless the location is
 * unknown or a manual entry covers the prefix. The delete and the insert touch disjoint keys,
 * so one statement holds both.
 */
const applyQualified = `WITH input AS (
    SELECT * FROM json_to_recordset($1::json) AS x (prefix cidr, location text, bytes bigint, packets bigint,
                                                   first_seen timestamptz, last_seen timestamptz, share float8)
  ),
  q AS (
    SELECT i.* FROM input i
     WHERE EXISTS (SELECT 1 FROM locations l WHERE l.name = i.location)
       AND NOT EXISTS (SELECT 1 FROM subnet_location_map m WHERE m.source = 'manual' AND m.prefix >>= i.prefix)
  ),
  moved AS (
    DELETE FROM subnet_location_map m
     WHERE m.source = 'learned' AND m.prefix IN (SELECT prefix FROM q)
       AND NOT EXISTS (SELECT 1 FROM q WHERE q.prefix = m.prefix AND q.location = m.location)
    RETURNING 1
  ),
  upserted AS (
    INSERT INTO subnet_location_map AS m (prefix, location, source, first_seen_at, last_seen_at,
                                          learned_bytes, learned_packets, learned_share, updated_at)
    SELECT prefix, location, 'learned', first_seen, last_seen, bytes, packets, share, now() FROM q
    ON CONFLICT (prefix, location) DO UPDATE
       SET first_seen_at = LEAST(m.first_seen_at, EXCLUDED.first_seen_at),
           last_seen_at = GREATEST(m.last_seen_at, EXCLUDED.last_seen_at),
           learned_bytes = EXCLUDED.learned_bytes, learned_packets = EXCLUDED.learned_packets,
           learned_share = EXCLUDED.learned_share, updated_at = now()
     WHERE m.source = 'learned'
    RETURNING (xmax = 0) AS inserted
  )
  SELECT (SELECT count(*) FROM moved)::int AS removed,
         (SELECT count(*) FROM upserted WHERE inserted)::int AS added,
         (SELECT count(*) FROM upserted WHERE NOT inserted)::int AS confirmed`;

/**
 * With a change of the map, in its transaction: the flows (attributed with the map) are stale
 * until the maintainer re-attributes them (`maintainer.ts`), even if this run stops first.
 */
const flowsStale = "UPDATE subnet_map_state SET flows_revision = -1";

/** Prefixes whose qualifying evidence one statement applies. */
const prefixesPerBatch = 500;

/** `$1` forget before, `$2` include: stale entries, shadowed ones, and those include now excludes. */
const dropLearned = `DELETE FROM subnet_location_map l
  WHERE l.source = 'learned'
    AND (l.last_seen_at < $1
         OR (cardinality($2::cidr[]) > 0 AND NOT l.prefix <<= ANY ($2::cidr[]))
         OR EXISTS (SELECT 1 FROM subnet_location_map m WHERE m.source = 'manual' AND m.prefix >>= l.prefix))`;

/** `$1` since, `$2` a location: first/last seen of its manual entries from the source traffic inside them. */
const seenManual = `UPDATE subnet_location_map m
     SET first_seen_at = LEAST(m.first_seen_at, e.first_seen), last_seen_at = GREATEST(m.last_seen_at, e.last_seen)
    FROM (SELECT x.prefix, x.location, min(h.first_minute) AS first_seen, max(h.last_minute) AS last_seen
            FROM subnet_location_map x
            JOIN subnet_traffic_hourly h ON h.location = x.location AND h.prefix <<= x.prefix
           WHERE x.source = 'manual' AND x.location = $2 AND h.direction = 'src' AND h.hour_start >= $1
           GROUP BY x.prefix, x.location) e
   WHERE m.prefix = e.prefix AND m.location = e.location AND m.source = 'manual'
     AND (m.last_seen_at IS DISTINCT FROM GREATEST(m.last_seen_at, e.last_seen)
          OR m.first_seen_at IS DISTINCT FROM LEAST(m.first_seen_at, e.first_seen))`;

const hourMs = 3_600_000;

/** Start of the lookback window at `now`: the current hour and the `lookbackHours - 1` before. */
export function learnSince(rule: Pick<LearnRule, "lookbackHours">, now: Date): Date {
  return new Date((Math.floor(now.getTime() / hourMs) - rule.lookbackHours + 1) * hourMs);
}

/**
 * Applies the rule to the hourly rollup as of `now`, in short steps (see `rollup.ts`): each
 * location's evidence (a step each, summed here per prefix: the shares are the same division
 * the rule states), the qualifying evidence a batch of prefixes at a time, the drop of stale
 * entries, and the seen times of each location's manual entries. Resolves to undefined when
 * another collector took the lock midway; what was applied stays (the next run applies the rest).
 */
export async function learn(
  step: MaintenanceStep,
  rule: LearnRule,
  now: Date,
): Promise<LearnReport | undefined> {
  const since = learnSince(rule, now).toISOString();
  const forgetBefore = new Date(now.getTime() - rule.forgetAfterDays * 86_400_000);
  const include = [...rule.include];
  const locations = await step((tx) => tx.query<{ location: string }>(sourceLocations, [since]));
  if (locations === undefined) return undefined;
  const byPrefix = new Map<string, Evidence[]>();
  for (const { location } of locations.rows) {
    const found = await step((tx) =>
      tx.query<Omit<Evidence, "location" | "share">>(evidenceSql, [location, since, include]),
    );
    if (found === undefined) return undefined;
    for (const row of found.rows) {
      const list = byPrefix.get(row.prefix) ?? [];
      list.push({ ...row, location, share: 0 });
      byPrefix.set(row.prefix, list);
    }
  }
  const qualified: Evidence[][] = [];
  for (const list of byPrefix.values()) {
    const total = list.reduce((sum, e) => sum + e.bytes, 0);
    if (total === 0) continue;
    for (const e of list) e.share = e.bytes / total;
    const q = list.filter((e) => e.packets >= rule.minPackets && e.share >= rule.minShare);
    if (q.length > 0) qualified.push(q);
  }
  let added = 0;
  let removed = 0;
  let confirmed = 0;
  for (let i = 0; i < qualified.length; i += prefixesPerBatch) {
    const batch = qualified.slice(i, i + prefixesPerBatch).flat();
    const applied = await step(async (tx) => {
      const result = await tx.query<{ removed: number; added: number; confirmed: number }>(applyQualified, [
        JSON.stringify(batch),
      ]);
      const counts = result.rows[0];
      if ((counts?.added ?? 0) + (counts?.removed ?? 0) > 0) await tx.query(flowsStale);
      return counts;
    });
    if (applied === undefined) return undefined;
    const row = applied;
    added += row?.added ?? 0;
    removed += row?.removed ?? 0;
    confirmed += row?.confirmed ?? 0;
  }
  const dropped = await step(async (tx) => {
    const result = await tx.query(dropLearned, [forgetBefore.toISOString(), include]);
    if (result.rowCount > 0) await tx.query(flowsStale);
    return result.rowCount;
  });
  if (dropped === undefined) return undefined;
  removed += dropped;
  const manual = await step((tx) =>
    tx.query<{ location: string }>(
      "SELECT DISTINCT location FROM subnet_location_map WHERE source = 'manual' ORDER BY 1",
    ),
  );
  if (manual === undefined) return undefined;
  for (const { location } of manual.rows) {
    if ((await step((tx) => tx.query(seenManual, [since, location]))) === undefined) return undefined;
  }
  return { added, removed, confirmed };
}
