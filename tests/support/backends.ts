/**
 * Backends for storage suites, shared by every package's tests: each suite runs once per entry,
 * so a behaviour holds on embedded PGlite and the in-process KV as well as on real Postgres
 * (`DATABASE_URL`) and Redis (`REDIS_URL`) when those are configured.
 *
 * ```ts
 * import { dbBackends, kvBackends } from "../support/backends.js";
 *
 * describe.each(dbBackends())("jobs store on $name", (backend) => {
 *   let scratch: ScratchDb;
 *   beforeEach(async () => { scratch = await backend.create(); });
 *   afterEach(() => scratch.drop());
 * });
 * ```
 *
 * The implementations live in `collector/src/{db,kv}/testing.ts`: a workspace's own unit tests
 * can import only from inside its `src` (TypeScript project `rootDir`), so the collector's
 * suites use them there, and this module is the one entry point for everything under `tests/`.
 */
import { dbBackends as allDbBackends, type DbBackend } from "../../collector/src/db/testing.js";

export {
  type DbBackend,
  dbBackends,
  type ScratchDb,
  silentLogger,
} from "../../collector/src/db/testing.js";
export { type KvBackend, kvBackends, type ScratchKv } from "../../collector/src/kv/testing.js";

/** A backend for suites that start collector processes: the database, and Redis beside Postgres. */
export interface ProcessBackend {
  readonly name: DbBackend["name"];
  readonly backend: DbBackend;
  /** `REDIS_URL` on the Postgres run (when set); the embedded run keeps the in-process Kv. */
  readonly redisUrl: string | undefined;
}

/** Embedded PGlite alone, then Postgres with Redis when `DATABASE_URL`/`REDIS_URL` are set. */
export function processBackends(): ProcessBackend[] {
  return allDbBackends().map((backend) => ({
    name: backend.name,
    backend,
    redisUrl: backend.name === "postgres" ? process.env["REDIS_URL"] || undefined : undefined,
  }));
}
