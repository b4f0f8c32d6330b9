/**
 * `GET /network/locations`: every location with its metadata, its sensors counted by status,
 * its map entries and its traffic over a window (what the map page draws). Four queries, each
 * over a whole table or the rollups, joined here by name.
 */
import type { Queryable } from "../db/index.js";
import { entryColumns, type LocationRecord, locationColumns, type MapEntry } from "./map-store.js";
import { locationRows, SqlParams, type Window } from "./window.js";

/** Sensors per status. */
export interface StatusCounts {
  online: number;
  degraded: number;
  offline: number;
}

/** Traffic at a location over the window (see `traffic-queries.ts` for what counts). */
export interface LocationTraffic {
  /** Bytes and packets its sensors saw (source side: each packet once per sensor). */
  bytes: number;
  packets: number;
}

/** One location of `GET /network/locations`. */
export interface NetworkLocation extends LocationRecord {
  sensor_count: number;
  sensors_by_status: StatusCounts;
  /** Its map entries, by prefix. */
  subnets: MapEntry[];
  traffic: LocationTraffic;
}

/** Every location by name, as {@link NetworkLocation}, with traffic over `window`. */
export async function networkLocations(db: Queryable, window: Window): Promise<NetworkLocation[]> {
  const locations = await db.query<LocationRecord>(`SELECT ${locationColumns} FROM locations ORDER BY name`);
  const sensors = await db.query<{ location: string; status: keyof StatusCounts; n: number }>(
    "SELECT location, status, count(*)::int AS n FROM sensors GROUP BY location, status",
  );
  const entries = await db.query<MapEntry>(
    `SELECT ${entryColumns} FROM subnet_location_map m ORDER BY m.location, m.prefix`,
  );
  const params = new SqlParams();
  const traffic = await db.query<{ location: string; bytes: number; packets: number }>(
    `SELECT location, sum(bytes)::bigint AS bytes, sum(packets)::bigint AS packets
       FROM (${locationRows(window, params, "direction = 'src'")}) r GROUP BY location`,
    params.values,
  );
  const byLocation = <T extends { location: string }>(rows: readonly T[]): Map<string, T[]> => {
    const out = new Map<string, T[]>();
    for (const row of rows) {
      const list = out.get(row.location);
      if (list === undefined) out.set(row.location, [row]);
      else list.push(row);
    }
    return out;
  };
  const sensorsAt = byLocation(sensors.rows);
  const entriesAt = byLocation(entries.rows);
  const trafficAt = new Map(traffic.rows.map((row) => [row.location, row]));
  return locations.rows.map((location) => {
    const counts: StatusCounts = { online: 0, degraded: 0, offline: 0 };
    for (const row of sensorsAt.get(location.name) ?? []) counts[row.status] += row.n;
    const seen = trafficAt.get(location.name);
    return {
      ...location,
      sensor_count: counts.online + counts.degraded + counts.offline,
      sensors_by_status: counts,
      subnets: entriesAt.get(location.name) ?? [],
      traffic: { bytes: seen?.bytes ?? 0, packets: seen?.packets ?? 0 },
    };
  });
}
