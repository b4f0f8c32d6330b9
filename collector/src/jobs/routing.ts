/**
 * Which sensors a job asks, and why each (stored with its task, shown to the user): the sensors
 * it names; the sensors of the locations it names; with neither, the sensors of the locations
 * the subnet map places the job's addresses at (manual entries first, then the longest prefix,
 * per address; a network address also reaches its smaller subnets' locations); and when the
 * map knows none of them (or none of its locations has a sensor), every sensor.
 */
import { AppError, ErrorCode } from "@pcapfleet/core";
import type { Queryable } from "../db/index.js";
import { lookupAddresses } from "../network/lookup.js";
import type { JobSpec } from "./types.js";

/** A chosen sensor and the reason. */
export interface Target {
  readonly sensor: string;
  readonly routedBy: string;
}

const quoteList = (names: readonly string[]): string => names.map((n) => JSON.stringify(n)).join(", ");

/** The sensors `spec` targets; `invalid_argument` naming unknown sensors or locations. */
export async function resolveTargets(db: Queryable, spec: JobSpec): Promise<Target[]> {
  const named = [...new Set(spec.sensors ?? [])];
  const locations = [...new Set(spec.locations ?? [])];
  const targets = new Map<string, string>();
  if (named.length > 0) {
    const { rows } = await db.query<{ name: string }>(
      `SELECT name FROM sensors WHERE name = ANY($1::text[])`,
      [named],
    );
    const known = new Set(rows.map((r) => r.name));
    const unknown = named.filter((n) => !known.has(n));
    if (unknown.length > 0) {
      throw new AppError(
        ErrorCode.InvalidArgument,
        `unknown sensor${unknown.length > 1 ? "s" : ""}: ${quoteList(unknown)}`,
      );
    }
    for (const name of named) targets.set(name, "named in the job");
  }
  if (locations.length > 0) {
    const { rows } = await db.query<{ name: string; location: string }>(
      `SELECT l.name AS location, s.name FROM locations l LEFT JOIN sensors s ON s.location = l.name
       WHERE l.name = ANY($1::text[]) ORDER BY s.name`,
      [locations],
    );
    const known = new Set(rows.map((r) => r.location));
    const unknown = locations.filter((l) => !known.has(l));
    if (unknown.length > 0) {
      throw new AppError(
        ErrorCode.InvalidArgument,
        `unknown location${unknown.length > 1 ? "s" : ""}: ${quoteList(unknown)}`,
      );
    }
    for (const row of rows) {
      if (row.name !== null && !targets.has(row.name)) targets.set(row.name, `at location ${row.location}`);
    }
    if (targets.size === 0) {
      throw new AppError(ErrorCode.InvalidArgument, `no sensor at location ${quoteList(locations)}`);
    }
  }
  if (named.length === 0 && locations.length === 0) {
    for (const t of await routeBySubnets(db, spec)) targets.set(t.sensor, t.routedBy);
  }
  return [...targets].map(([sensor, routedBy]) => ({ sensor, routedBy }));
}

/**
 * The job's addresses through the subnet map (`network/lookup.ts`: manual entries first, then
 * the longest prefix; a network also reaches the entries inside it), else every sensor.
 */
async function routeBySubnets(db: Queryable, spec: JobSpec): Promise<Target[]> {
  const addresses = [spec.src_ip, spec.dst_ip].filter((a): a is string => a !== undefined);
  if (addresses.length > 0) {
    // One reason per location: the first match (by address, then prefix) that reached it.
    const reasons = new Map<string, string>();
    for (const [address, result] of await lookupAddresses(db, addresses)) {
      for (const match of [...result.matches, ...result.within]) {
        if (reasons.has(match.location)) continue;
        reasons.set(
          match.location,
          `subnet map: ${address} ${result.matches.includes(match) ? "is in" : "contains"} ${match.prefix} ` +
            `(${match.source}), seen at location ${match.location}`,
        );
      }
    }
    if (reasons.size > 0) {
      const { rows } = await db.query<{ name: string; location: string }>(
        "SELECT name, location FROM sensors WHERE location = ANY ($1::text[]) ORDER BY name",
        [[...reasons.keys()]],
      );
      if (rows.length > 0) {
        return rows.map((row) => ({ sensor: row.name, routedBy: reasons.get(row.location) ?? "" }));
      }
    }
  }
  const { rows } = await db.query<{ name: string }>(`SELECT name FROM sensors ORDER BY name`);
  const why =
    addresses.length > 0 ? "all sensors: the subnet map knows none of the job's addresses" : "all sensors";
  return rows.map((r) => ({ sensor: r.name, routedBy: why }));
}
