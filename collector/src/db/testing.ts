import { randomBytes } from "node:crypto";
import { createLogger, type Logger } from "@pcapfleet/core";
import { Client } from "pg";
import { createPgDb } from "./pg.js";
import { createPgliteDb } from "./pglite.js";
import type { Db, DbKind } from "./types.js";

/**
 * Test support: the database backends every storage suite runs on. PGlite always; real
 * Postgres too when `DATABASE_URL` names a server, each test database being a fresh
 * `pcapfleet_test_<random>` database dropped afterwards. Lives beside the code (not only in
 * `tests/support`) because a workspace's own tests may only import from its `src`;
 * `tests/support/backends.ts` re-exports it for cross-package tests.
 *
 * ```ts
 * describe.each(dbBackends())("store on $name", (backend) => {
 *   let scratch: ScratchDb;
 *   beforeEach(async () => { scratch = await backend.create(); });
 *   afterEach(() => scratch.drop());
 *   it("...", async () => { await scratch.db.query("SELECT 1"); });
 * });
 * ```
 */

/** A fresh, empty database on one backend, for one test or one suite. */
export interface ScratchDb {
  /** The first handle, opened by `create()`. */
  readonly db: Db;
  /**
   * Another handle on the same database. Postgres: a separate pool (separate sessions, like a
   * second collector). PGlite: the same handle, since a PGlite database has a single session
   * and cannot be opened twice.
   */
  openAnother(): Promise<Db>;
  /** Postgres: the database's URL, for a child process (a collector) to open; PGlite: undefined. */
  readonly url?: string;
  /** Closes every handle and deletes the database; safe to call twice. */
  drop(): Promise<void>;
}

/** One backend the storage suites run on. */
export interface DbBackend {
  /** `pglite` or `postgres`; also the test title via `describe.each(...)("$name")`. */
  readonly name: DbKind;
  /** Creates a fresh, empty database. */
  create(): Promise<ScratchDb>;
}

/** A logger that writes nothing, for handles opened by tests. */
export function silentLogger(): Logger {
  return createLogger({ name: "test", level: "silent" });
}

function pgliteBackend(log: Logger): DbBackend {
  return {
    name: "pglite",
    async create() {
      const db = await createPgliteDb("memory://", { log });
      let dropped = false;
      return {
        db,
        openAnother: async () => db,
        drop: async () => {
          if (dropped) return;
          dropped = true;
          await db.close();
        },
      };
    },
  };
}

/** Runs one statement on the server's maintenance database, outside any pool. */
async function onServer(serverUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function postgresBackend(serverUrl: string, log: Logger): DbBackend {
  return {
    name: "postgres",
    async create() {
      // Random hex only, so the name needs no quoting beyond the identifier quotes.
      const name = `pcapfleet_test_${randomBytes(6).toString("hex")}`;
      await onServer(serverUrl, `CREATE DATABASE "${name}"`);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      const handles: Db[] = [];
      const open = async (): Promise<Db> => {
        const db = await createPgDb(url.toString(), { log, tuning: { maxConnections: 5 } });
        handles.push(db);
        return db;
      };
      let db: Db;
      try {
        db = await open();
      } catch (error) {
        await onServer(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        throw error;
      }
      let dropped = false;
      return {
        db,
        openAnother: open,
        url: url.toString(),
        drop: async () => {
          if (dropped) return;
          dropped = true;
          await Promise.all(handles.map((handle) => handle.close()));
          // FORCE ends sessions a failed test may have left behind (Postgres 13+).
          await onServer(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        },
      };
    },
  };
}

/**
 * The backends to run storage suites on: PGlite (in memory) always, plus Postgres when
 * `env.DATABASE_URL` is set; that URL's database is used only to create and drop test
 * databases.
 */
export function dbBackends(
  env: Readonly<Record<string, string | undefined>> = process.env,
  log: Logger = silentLogger(),
): DbBackend[] {
  const backends = [pgliteBackend(log)];
  const serverUrl = env["DATABASE_URL"];
  if (serverUrl !== undefined && serverUrl !== "") backends.push(postgresBackend(serverUrl, log));
  return backends;
}
