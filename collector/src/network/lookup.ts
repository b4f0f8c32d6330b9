/**
 * Address → locations through the subnet map. The rule, in one place for routing, the lookup
 * endpoint and the traffic queries: among the entries containing the address, **manual entries
 * win over learned ones** (an address inside any manual prefix is placed by the manual entries
 * alone), then the **longest prefix** wins; every location of the winning prefix is returned
 * (a prefix may be mapped to several). For a network (`10.1.0.0/16`), the entries strictly
 * inside it are returned as well: a job asking for a whole network reaches their locations too.
 */
import type { Queryable } from "../db/index.js";
import { type Prefix, parsePrefix } from "./cidr.js";

/** Where a map entry came from. */
export type MapSource = "manual" | "learned";

/** One map entry matching a looked-up address. */
export interface MapMatch {
  /** The entry's prefix, as Postgres prints it (`10.1.2.0/24`). */
  prefix: string;
  location: string;
  source: MapSource;
}

/** What the map says of one address or network. */
export interface LookupResult {
  /** The address as asked, canonical (`10.1.2.3`, `2001:db8::/48`); see {@link addressKey}. */
  address: string;
  /** The winning entries containing it (one prefix, one or more locations); empty when none. */
  matches: MapMatch[];
  /** Entries strictly inside a network that was asked (empty for a single address). */
  within: MapMatch[];
}

/**
 * SQL ranking map entries for one containing prefix: manual first, then the longest. Used as
 * `rank() OVER (PARTITION BY ... ORDER BY ${bestEntryOrder("m")})`; rank 1 is the winner.
 */
export const bestEntryOrder = (alias: string): string =>
  `(${alias}.source = 'manual') DESC, masklen(${alias}.prefix) DESC`;

/**
 * A `LATERAL` subquery giving the winning locations (column `location`) of the cidr expression
 * `prefixSql`: what the traffic queries call a prefix's home. Entries smaller than the traffic
 * prefix (a manual /32 inside a /24 summary) do not contain it and are not considered.
 */
export function homeLateral(prefixSql: string): string {
  return `LATERAL (
    SELECT best.location FROM (
      SELECT m.location, rank() OVER (ORDER BY ${bestEntryOrder("m")}) AS r
        FROM subnet_location_map m WHERE m.prefix >>= ${prefixSql}
    ) best WHERE best.r = 1
  )`;
}

const lookupSql = `WITH addr AS (SELECT a.address, a.i FROM unnest($1::cidr[]) WITH ORDINALITY AS a (address, i)),
  ranked AS (
    SELECT a.i, m.prefix, m.location, m.source,
           rank() OVER (PARTITION BY a.i ORDER BY ${bestEntryOrder("m")}) AS r
      FROM addr a JOIN subnet_location_map m ON m.prefix >>= a.address
  )
  SELECT i::int AS i, prefix::text AS prefix, location, source, false AS within FROM ranked WHERE r = 1
  UNION ALL
  SELECT a.i::int, m.prefix::text, m.location, m.source, true
    FROM addr a JOIN subnet_location_map m ON m.prefix << a.address
  ORDER BY i, within, prefix, location`;

interface LookupRow {
  /** 1-based position in the parameter array. */
  i: number;
  prefix: string;
  location: string;
  source: MapSource;
  within: boolean;
}

/** The key of an address in lookup results: `10.1.2.3` for a host, `10.1.0.0/16` for a network. */
export function addressKey(prefix: Prefix): string {
  return prefix.bits === (prefix.family === 4 ? 32 : 128) ? prefix.address : prefix.text;
}

/**
 * Looks `addresses` up in the map (no cache): one query for all of them. Keys of the result are
 * the canonical texts ({@link LookupResult.address}); every address asked has an entry.
 *
 * @throws AppError `invalid_argument` for an address or network that does not parse.
 */
export async function lookupAddresses(
  db: Queryable,
  addresses: readonly string[],
): Promise<Map<string, LookupResult>> {
  const canonical = [...new Set(addresses.map((a) => addressKey(parsePrefix(a, "address"))))];
  if (canonical.length === 0) return new Map();
  const found = canonical.map(() => ({ matches: [] as MapMatch[], within: [] as MapMatch[] }));
  // Rows come back by position: Postgres prints some IPv6 forms (`::ffff:1.2.3.4`) unlike RFC 5952.
  const { rows } = await db.query<LookupRow>(lookupSql, [canonical]);
  for (const row of rows) {
    const entry = found[row.i - 1];
    if (entry === undefined) continue;
    const match = { prefix: row.prefix, location: row.location, source: row.source };
    (row.within ? entry.within : entry.matches).push(match);
  }
  return new Map(canonical.map((address, i) => [address, { address, ...(found[i] as (typeof found)[0]) }]));
}
