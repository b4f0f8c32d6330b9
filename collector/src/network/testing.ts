import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { createAuditLog } from "../audit/audit-log.js";
import { migrate } from "../db/migrate.js";
import { type DbBackend, silentLogger } from "../db/testing.js";
import type { Db, Queryable } from "../db/types.js";
import { createApp } from "../http/app.js";
import { createHarness, type Harness } from "../http/testing.js";
import type { AppEnv } from "../http/types.js";
import type { Kv } from "../kv/index.js";
import type { KvBackend } from "../kv/testing.js";
import { type Role, roles } from "../users/types.js";
import { createLookupCache, type LocationLookup } from "./lookup-cache.js";
import { createNetworkRoutes } from "./service.js";

/**
 * Test support for the network suites: migrations 001 and 004 through the real runner (so
 * these suites do not depend on the jobs migration), helpers writing what the ingest writes
 * (locations, sensors, per-minute subnet traffic rows), and the HTTP app with the network routes.
 */

const sqlFile = (name: string): string => fileURLToPath(new URL(`../../../sql/${name}`, import.meta.url));

/** Applies `sql/001_core.sql` and `sql/004_network.sql` (skipping what is applied already). */
export async function migrateNetwork(db: Db): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "pcapfleet-network-sql-"));
  try {
    for (const name of ["001_core.sql", "004_network.sql"]) await copyFile(sqlFile(name), join(dir, name));
    await migrate(db, dir, { log: silentLogger() });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Creates `location` (when new) and a sensor `name` there, as a first heartbeat would. */
export async function addSensor(db: Queryable, name: string, location: string): Promise<void> {
  await db.query("INSERT INTO locations (name) VALUES ($1) ON CONFLICT DO NOTHING", [location]);
  await db.query("INSERT INTO sensors (name, location) VALUES ($1, $2)", [name, location]);
}

/** One per-minute summary row, as ingest stores it. */
export interface TrafficRow {
  readonly sensor: string;
  readonly location: string;
  /** Start of the minute. */
  readonly minute: Date;
  readonly prefix: string;
  readonly direction: "src" | "dst";
  readonly bytes: number;
  readonly packets: number;
}

/**
 * Writes rows into `subnet_traffic` with the ingest's statement shape (one multi-row upsert,
 * REPLACE on replay), so the dirty-hour triggers fire as they do for ingest.
 */
export async function writeTraffic(db: Queryable, rows: readonly TrafficRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO subnet_traffic (location, sensor, minute_start, prefix, direction, bytes, packets)
     SELECT location, sensor, minute_start, prefix, direction, bytes, packets
       FROM json_to_recordset($1::json) AS x(location text, sensor text, minute_start timestamptz,
                                             prefix cidr, direction text, bytes bigint, packets bigint)
     ON CONFLICT (sensor, minute_start, prefix, direction)
     DO UPDATE SET bytes = EXCLUDED.bytes, packets = EXCLUDED.packets, location = EXCLUDED.location`,
    [
      JSON.stringify(
        rows.map((r) => ({
          location: r.location,
          sensor: r.sensor,
          minute_start: r.minute.toISOString(),
          prefix: r.prefix,
          direction: r.direction,
          bytes: r.bytes,
          packets: r.packets,
        })),
      ),
    ],
  );
}

/** `count` consecutive minutes from `start` of one sensor's row for `prefix` in `direction`. */
export function minutesOf(base: Omit<TrafficRow, "minute">, start: Date, count: number): TrafficRow[] {
  return Array.from({ length: count }, (_, i) => ({
    ...base,
    minute: new Date(start.getTime() + i * 60_000),
  }));
}

/** The HTTP app with the network routes on scratch backends, and what the route tests need. */
export interface NetworkHarness {
  readonly h: Harness;
  readonly app: OpenAPIHono<AppEnv>;
  readonly lookup: LocationLookup;
  /** A JSON request as a user of `role` (`none`: no token). */
  call(method: string, path: string, role: Role | "none", body?: unknown): Promise<Response>;
  /** Another collector: own database and Kv handles, own lookup cache, own app. */
  second(): Promise<{ app: OpenAPIHono<AppEnv>; lookup: LocationLookup }>;
  close(): Promise<void>;
}

/** Builds a {@link NetworkHarness}: migrations 001, 002 and 004 and one user per role. */
export async function createNetworkHarness(db: DbBackend, kv: KvBackend): Promise<NetworkHarness> {
  const h = await createHarness(db, kv);
  await migrateNetwork(h.scratch.db);
  for (const role of roles) await h.addUser(`${role}-user`, role);
  const lookups: LocationLookup[] = [];
  const build = async (handles: { db: Db; kv: Kv }) => {
    const lookup = await createLookupCache({
      ...handles,
      log: silentLogger(),
      ttlMs: 60_000,
      maxEntries: 1000,
    });
    lookups.push(lookup);
    const module = createNetworkRoutes({ db: handles.db, lookup, audit: createAuditLog(handles.db) });
    return {
      lookup,
      app: createApp({ log: silentLogger(), db: handles.db, auth: h.auth, modules: [module] }),
    };
  };
  const first = await build({ db: h.scratch.db, kv: h.kvScratch.kv });
  return {
    h,
    ...first,
    async call(method, path, role, body) {
      const headers: Record<string, string> = {};
      if (role !== "none")
        headers["authorization"] = `Bearer ${(await h.tokens(`${role}-user`)).access_token}`;
      if (body !== undefined) headers["content-type"] = "application/json";
      return first.app.request(path, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    },
    second: async () => build({ db: await h.scratch.openAnother(), kv: await h.kvScratch.open() }),
    async close() {
      for (const lookup of lookups) await lookup.close();
      await h.close();
    },
  };
}
