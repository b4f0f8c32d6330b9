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
import type { Queryable } from "../db/index.js";
import type { NetworkConfig } from "./config.js";

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

/** `$1` since, `$2` minPackets, `$3` minShare, `$4` include (cidr[], empty: all). */
const qualified = `evidence AS (
    SELECT prefix, location, sum(bytes)::bigint AS bytes, sum(packets)::bigint AS packets,
           min(first_minute) AS first_seen, max(last_minute) AS last_seen
      FROM subnet_traffic_hourly
     WHERE direction = 'src' AND hour_start >= $1
       AND (cardinality($4::cidr[]) = 0 OR prefix <<= ANY ($4::cidr[]))
     GROUP BY prefix, location
  ),
  shared AS (
    SELECT e.*, e.bytes::float8 / NULLIF(sum(e.bytes) OVER (PARTITION BY e.prefix), 0) AS share
      FROM evidence e
  ),
  q AS (
    SELECT s.* FROM shared s
     WHERE s.packets >= $2 AND s.share >= $3
       AND EXISTS (SELECT 1 FROM locations l WHERE l.name = s.location)
       AND NOT EXISTS (SELECT 1 FROM subnet_location_map m WHERE m.source = 'manual' AND m.prefix >>= s.prefix)
  )`;

/**
 * Entries of qualifying prefixes at locations that no longer qualify go; qualifying ones are
 * inserted or refreshed. The delete and the insert touch disjoint keys, so one statement holds both.
 */
const applyQualified = `WITH ${qualified},
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

/** `$1` forget before, `$2` include: stale entries, shadowed ones, and those include now excludes. */
const dropLearned = `DELETE FROM subnet_location_map l
  WHERE l.source = 'learned'
    AND (l.last_seen_at < $1
         OR (cardinality($2::cidr[]) > 0 AND NOT l.prefix <<= ANY ($2::cidr[]))
         OR EXISTS (SELECT 1 FROM subnet_location_map m WHERE m.source = 'manual' AND m.prefix >>= l.prefix))`;

/** `$1` since: first/last seen of manual entries from the source traffic inside them. */
const seenManual = `UPDATE subnet_location_map m
     SET first_seen_at = LEAST(m.first_seen_at, e.first_seen), last_seen_at = GREATEST(m.last_seen_at, e.last_seen)
    FROM (SELECT x.prefix, x.location, min(h.first_minute) AS first_seen, max(h.last_minute) AS last_seen
            FROM subnet_location_map x
            JOIN subnet_traffic_hourly h ON h.location = x.location AND h.prefix <<= x.prefix
           WHERE x.source = 'manual' AND h.direction = 'src' AND h.hour_start >= $1
           GROUP BY x.prefix, x.location) e
   WHERE m.prefix = e.prefix AND m.location = e.location AND m.source = 'manual'
     AND (m.last_seen_at IS DISTINCT FROM GREATEST(m.last_seen_at, e.last_seen)
          OR m.first_seen_at IS DISTINCT FROM LEAST(m.first_seen_at, e.first_seen))`;

const hourMs = 3_600_000;

/** Start of the lookback window at `now`: the current hour and the `lookbackHours - 1` before. */
export function learnSince(rule: Pick<LearnRule, "lookbackHours">, now: Date): Date {
  return new Date((Math.floor(now.getTime() / hourMs) - rule.lookbackHours + 1) * hourMs);
}

/** Applies the rule to the hourly rollup as of `now`, inside the caller's transaction. */
export async function learn(tx: Queryable, rule: LearnRule, now: Date): Promise<LearnReport> {
  const since = learnSince(rule, now);
  const forgetBefore = new Date(now.getTime() - rule.forgetAfterDays * 86_400_000);
  const include = [...rule.include];
  const applied = await tx.query<{ removed: number; added: number; confirmed: number }>(applyQualified, [
    since.toISOString(),
    rule.minPackets,
    rule.minShare,
    include,
  ]);
  const dropped = await tx.query(dropLearned, [forgetBefore.toISOString(), include]);
  await tx.query(seenManual, [since.toISOString()]);
  const row = applied.rows[0] ?? { removed: 0, added: 0, confirmed: 0 };
  return { added: row.added, removed: row.removed + dropped.rowCount, confirmed: row.confirmed };
}
