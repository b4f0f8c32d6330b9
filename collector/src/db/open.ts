import { join } from "node:path";
import { createPgDb } from "./pg.js";
import { createPgliteDb } from "./pglite.js";
import type { Db, OpenDbOptions } from "./types.js";

/**
 * Opens the collector's database: Postgres through a `pg` pool when `databaseUrl` is set,
 * otherwise embedded PGlite under `<dataDir>/pglite`. The URL is never logged (it may hold a
 * password); the log says which backend was chosen.
 */
export async function openDb(options: OpenDbOptions): Promise<Db> {
  const { databaseUrl, dataDir, log } = options;
  if (databaseUrl !== undefined && databaseUrl !== "") {
    const db = await createPgDb(databaseUrl, { log });
    log.info({ backend: db.kind }, "database: connected to Postgres");
    return db;
  }
  const dir = join(dataDir, "pglite");
  const db = await createPgliteDb(dir, { log });
  log.info({ backend: db.kind, dir }, "database: embedded PGlite");
  return db;
}
