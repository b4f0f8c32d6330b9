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
export {
  type DbBackend,
  dbBackends,
  type ScratchDb,
  silentLogger,
} from "../../collector/src/db/testing.js";
export { type KvBackend, kvBackends, type ScratchKv } from "../../collector/src/kv/testing.js";
