/**
 * Admin writes of the network map: locations (description, coordinates, site metadata) and
 * manual subnet entries. Heartbeats also create locations (by name only); a location that
 * sensors still report cannot be deleted (409), since the next heartbeat would recreate it.
 * A manual entry replaces a learned entry of the same prefix and location, and learned
 * entries inside it are removed: manual entries win (`lookup.ts`).
 */
import { AppError, ErrorCode } from "@pcapfleet/core";
import type { Connection, Queryable } from "../db/index.js";
import type { Prefix } from "./cidr.js";
import type { MapSource } from "./lookup.js";

/** A location as the network endpoints return it (without sensors and traffic). */
export interface LocationRecord {
  name: string;
  description: string;
  latitude: number | null;
  longitude: number | null;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

/** Fields an admin sets on a location; absent keys are left as they are (null clears a coordinate). */
export interface LocationFields {
  readonly description?: string | undefined;
  readonly latitude?: number | null | undefined;
  readonly longitude?: number | null | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
}

/** One map entry as listed. */
export interface MapEntry {
  prefix: string;
  location: string;
  source: MapSource;
  description: string;
  created_at: string;
  updated_at: string;
  first_seen_at: string | null;
  last_seen_at: string | null;
  /** Learned entries: the source bytes, packets and share behind the learner's latest decision. */
  learned_bytes: number | null;
  learned_packets: number | null;
  learned_share: number | null;
}

const iso = (column: string): string =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column.replace(/^\w+\./, "")}`;

/** Columns of {@link LocationRecord}. */
export const locationColumns = `name, description, latitude, longitude, metadata, ${iso("created_at")}, ${iso("updated_at")}`;

/** Columns of {@link MapEntry} (table alias `m`). */
export const entryColumns = `m.prefix::text AS prefix, m.location, m.source, m.description, ${iso("m.created_at")},
  ${iso("m.updated_at")}, ${iso("m.first_seen_at")}, ${iso("m.last_seen_at")}, m.learned_bytes, m.learned_packets,
  m.learned_share`;

function notFound(name: string): AppError {
  return new AppError(ErrorCode.NotFound, `no location ${JSON.stringify(name)}`);
}

/** Creates a location. @throws AppError `conflict` when it exists. */
export async function createLocation(
  db: Queryable,
  name: string,
  fields: LocationFields,
): Promise<LocationRecord> {
  const { rows } = await db.query<LocationRecord>(
    `INSERT INTO locations (name, description, latitude, longitude, metadata)
     VALUES ($1, COALESCE($2, ''), $3, $4, COALESCE($5::jsonb, '{}'))
     ON CONFLICT (name) DO NOTHING
     RETURNING ${locationColumns}`,
    [
      name,
      fields.description ?? null,
      fields.latitude ?? null,
      fields.longitude ?? null,
      fields.metadata === undefined ? null : JSON.stringify(fields.metadata),
    ],
  );
  const row = rows[0];
  if (row === undefined) throw new AppError(ErrorCode.Conflict, `location ${JSON.stringify(name)} exists`);
  return row;
}

/** Updates the given fields. @throws AppError `not_found`. */
export async function updateLocation(
  db: Queryable,
  name: string,
  fields: LocationFields,
): Promise<LocationRecord> {
  const { rows } = await db.query<LocationRecord>(
    `UPDATE locations SET
       description = CASE WHEN $2 THEN $3 ELSE description END,
       latitude = CASE WHEN $4 THEN $5::double precision ELSE latitude END,
       longitude = CASE WHEN $6 THEN $7::double precision ELSE longitude END,
       metadata = CASE WHEN $8 THEN $9::jsonb ELSE metadata END,
       updated_at = now()
     WHERE name = $1
     RETURNING ${locationColumns}`,
    [
      name,
      fields.description !== undefined,
      fields.description ?? "",
      fields.latitude !== undefined,
      fields.latitude ?? null,
      fields.longitude !== undefined,
      fields.longitude ?? null,
      fields.metadata !== undefined,
      JSON.stringify(fields.metadata ?? {}),
    ],
  );
  const row = rows[0];
  if (row === undefined) throw notFound(name);
  return row;
}

/**
 * Deletes a location and its map entries.
 *
 * @throws AppError `not_found`; `conflict` while sensors report it.
 */
export async function deleteLocation(db: Connection, name: string): Promise<void> {
  await db.transaction(async (tx) => {
    const { rows } = await tx.query<{ sensors: number }>(
      `SELECT (SELECT count(*) FROM sensors WHERE location = l.name)::int AS sensors
         FROM locations l WHERE l.name = $1 FOR UPDATE`,
      [name],
    );
    const row = rows[0];
    if (row === undefined) throw notFound(name);
    if (row.sensors > 0) {
      throw new AppError(
        ErrorCode.Conflict,
        `location ${JSON.stringify(name)} has ${row.sensors} sensor${row.sensors === 1 ? "" : "s"}; ` +
          "move them (their agents' location setting) first",
      );
    }
    await tx.query("DELETE FROM locations WHERE name = $1", [name]);
  });
}

/**
 * Adds (or re-describes) the manual entry `prefix` → `location`; learned entries inside
 * `prefix` go. Resolves to the entry and whether it is new.
 *
 * @throws AppError `invalid_argument` for an unknown location.
 */
export async function putManualEntry(
  db: Connection,
  entry: { prefix: Prefix; location: string; description?: string | undefined },
): Promise<{ entry: MapEntry; created: boolean }> {
  return db.transaction(async (tx) => {
    const known = await tx.query("SELECT 1 FROM locations WHERE name = $1 FOR KEY SHARE", [entry.location]);
    if (known.rowCount === 0) {
      throw new AppError(ErrorCode.InvalidArgument, `unknown location ${JSON.stringify(entry.location)}`);
    }
    const { rows } = await tx.query<{ before: MapSource | null }>(
      `WITH before AS (SELECT source FROM subnet_location_map WHERE prefix = $1::cidr AND location = $2)
       INSERT INTO subnet_location_map AS m (prefix, location, source, description)
       VALUES ($1::cidr, $2, 'manual', COALESCE($3, ''))
       ON CONFLICT (prefix, location) DO UPDATE
          SET source = 'manual', description = COALESCE($3, m.description), updated_at = now(),
              learned_bytes = NULL, learned_packets = NULL, learned_share = NULL
       RETURNING (SELECT source FROM before) AS before`,
      [entry.prefix.text, entry.location, entry.description ?? null],
    );
    await tx.query(`DELETE FROM subnet_location_map WHERE source = 'learned' AND prefix <<= $1::cidr`, [
      entry.prefix.text,
    ]);
    const listed = await tx.query<MapEntry>(
      `SELECT ${entryColumns} FROM subnet_location_map m WHERE m.prefix = $1::cidr AND m.location = $2`,
      [entry.prefix.text, entry.location],
    );
    const out = listed.rows[0];
    if (out === undefined) throw new AppError(ErrorCode.Internal, "manual entry vanished after upsert");
    return { entry: out, created: rows[0]?.before !== "manual" };
  });
}

/**
 * Removes the manual entries of `prefix` (at `location` only, when given); the learner may learn
 * the prefix again. Resolves to the number removed.
 *
 * @throws AppError `not_found` when there is none.
 */
export async function removeManualEntries(
  db: Queryable,
  prefix: Prefix,
  location: string | undefined,
): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM subnet_location_map
      WHERE source = 'manual' AND prefix = $1::cidr AND ($2::text IS NULL OR location = $2)`,
    [prefix.text, location ?? null],
  );
  if (rowCount === 0) {
    throw new AppError(
      ErrorCode.NotFound,
      `no manual entry for ${prefix.text}${location === undefined ? "" : ` at ${JSON.stringify(location)}`}`,
    );
  }
  return rowCount;
}
