import { AsyncLocalStorage } from "node:async_hooks";
import { mkdir } from "node:fs/promises";
import { PGlite, type Results, type Transaction } from "@electric-sql/pglite";
import { AppError, ErrorCode } from "@pcapfleet/core";
import { closedError, mapDbErrors, toDbError } from "./errors.js";
import {
  type Connection,
  type Db,
  type DbOptions,
  parseDate,
  parseInt8,
  type Queryable,
  type QueryResult,
  TypeOid,
} from "./types.js";

/**
 * PGlite is one Postgres backend in WASM: a single session. PGlite serialises calls with its
 * own mutexes, but `transaction()` holds the outer one for its whole callback, so calling
 * `pg.query` from inside it waits forever. This module owns the session instead: one FIFO lock
 * per Db, and an AsyncLocalStorage scope that marks code already running on the session, so
 * nested calls either run directly (inside `withConnection`) or fail loudly (inside a
 * transaction) — never hang.
 */

/** Code running on the session: inside `withConnection`, or inside a transaction callback. */
interface Scope {
  readonly kind: "session" | "transaction";
  /** Cleared when the scope ends, so work it spawned and left running takes the lock again. */
  active: boolean;
}

/** A FIFO mutex: each caller waits for the one before it. */
function createLock(): <R>(run: () => Promise<R>) => Promise<R> {
  let tail: Promise<void> = Promise.resolve();
  return async <R>(run: () => Promise<R>): Promise<R> => {
    const previous = tail;
    let release: () => void = () => undefined;
    tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await run();
    } finally {
      release();
    }
  };
}

function toResult<T>(result: Results<T>): QueryResult<T> {
  // `rowCount` is per statement (rows returned or changed); `affectedRows` is its older,
  // cumulative cousin, kept as a fallback.
  return { rows: result.rows, rowCount: result.rowCount ?? result.affectedRows ?? 0 };
}

function misuse(
  what = "the database was called from inside its own transaction; use the transaction's `tx` argument",
): AppError {
  return new AppError(ErrorCode.Internal, `PGlite: ${what}`);
}

function txQueryable(tx: Transaction): Queryable {
  return {
    query: <T>(sql: string, params: readonly unknown[] = []) =>
      mapDbErrors(async () => toResult(await tx.query<T>(sql, [...params]))),
    exec: (sqlScript: string) =>
      mapDbErrors(async () => {
        await tx.exec(sqlScript);
      }),
  };
}

/**
 * Opens (creating when absent) an embedded PGlite database in `dataDir`, or an in-memory one
 * for `memory://`. Only one process may open a directory at a time: PGlite takes no file lock.
 */
export async function createPgliteDb(dataDir: string, options: DbOptions): Promise<Db> {
  const log = options.log;
  let pg: PGlite;
  try {
    if (!dataDir.startsWith("memory://")) await mkdir(dataDir, { recursive: true });
    pg = await PGlite.create(dataDir, {
      parsers: { [TypeOid.int8]: parseInt8, [TypeOid.date]: parseDate },
    });
  } catch (reason) {
    const message = reason instanceof Error ? reason.message : String(reason);
    throw new AppError(ErrorCode.StorageIo, `cannot open PGlite database in ${dataDir}: ${message}`, {
      cause: reason,
    });
  }
  log.debug({ dataDir }, "pglite: opened");
  const lock = createLock();
  const scopes = new AsyncLocalStorage<Scope>();
  let closed = false;

  /** Throws when called from inside a transaction callback, where PGlite would deadlock. */
  function guard(): void {
    const scope = scopes.getStore();
    if (scope?.active === true && scope.kind === "transaction") throw misuse();
  }

  async function scoped<R>(kind: Scope["kind"], run: () => Promise<R>): Promise<R> {
    const scope: Scope = { kind, active: true };
    try {
      return await scopes.run(scope, run);
    } finally {
      scope.active = false;
    }
  }

  async function transaction<R>(fn: (tx: Queryable) => Promise<R>): Promise<R> {
    guard();
    // Errors from `fn` are re-thrown as they are; only BEGIN/COMMIT/ROLLBACK failures are mapped.
    const thrown: { value?: unknown } = {};
    try {
      return await pg.transaction((tx) =>
        scoped("transaction", () => fn(txQueryable(tx))).catch((reason: unknown) => {
          thrown.value = reason;
          throw reason;
        }),
      );
    } catch (reason) {
      if ("value" in thrown && thrown.value === reason) throw reason;
      throw toDbError(reason);
    }
  }

  /** The one session, for code that already holds the lock. */
  const session: Connection = {
    query: <T>(sql: string, params: readonly unknown[] = []) => {
      guard();
      return mapDbErrors(async () => toResult(await pg.query<T>(sql, [...params])));
    },
    exec: (sqlScript: string) => {
      guard();
      return mapDbErrors(async () => {
        await pg.exec(sqlScript);
      });
    },
    transaction,
  };

  async function withSession<R>(fn: (conn: Connection) => Promise<R>): Promise<R> {
    guard();
    // A nested call shares the outer caller's session; its failure must not release their locks.
    const nested = scopes.getStore()?.active === true;
    try {
      return await scoped("session", () => fn(session));
    } catch (reason) {
      if (nested) throw reason;
      // Postgres would drop the session here; PGlite has only this one, so undo what a dropped
      // session would have: an open transaction and session-level advisory locks.
      await pg.exec("ROLLBACK; SELECT pg_advisory_unlock_all()").catch((error: unknown) => {
        log.warn({ err: error }, "pglite: cleanup after a failed withConnection failed");
      });
      throw reason;
    }
  }

  /** Runs `run` holding the session: directly when this async context already holds it. */
  function exclusive<R>(run: () => Promise<R>): Promise<R> {
    if (scopes.getStore()?.active === true) return run();
    if (closed) return Promise.reject(closedError("pglite"));
    return lock(run);
  }

  return {
    kind: "pglite",
    query: (sql, params) => exclusive(() => session.query(sql, params)),
    exec: (sqlScript) => exclusive(() => session.exec(sqlScript)),
    transaction: (fn) => exclusive(() => transaction(fn)),
    withConnection: (fn) => exclusive(() => withSession(fn)),
    close: async () => {
      if (scopes.getStore()?.active === true) throw misuse("close() was called while holding the session");
      if (closed) return;
      closed = true;
      // Work already queued on the lock finishes first; new callers are refused above.
      await lock(() => pg.close());
      log.debug({ dataDir }, "pglite: closed");
    },
  };
}
