import { AppError, ErrorCode } from "@pcapfleet/core";
import { type QueryResult as PgQueryResult, Pool, type PoolClient, TypeOverrides } from "pg";
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

/** Pool tuning for {@link createPgDb}; every field has a default. */
export interface PgDbTuning {
  /** Most sessions open at once. */
  readonly maxConnections: number;
  /** How long to wait for a new connection before failing as `unavailable`. */
  readonly connectTimeoutMs: number;
  /** Idle sessions are closed after this long. */
  readonly idleTimeoutMs: number;
}

const defaultTuning: PgDbTuning = { maxConnections: 10, connectTimeoutMs: 5_000, idleTimeoutMs: 30_000 };

/**
 * Type parsers of this pool only: `pg.types.setTypeParser` would change every pool in the
 * process, a side effect a library must not have.
 */
function alignedTypes(): TypeOverrides {
  const types = new TypeOverrides();
  types.setTypeParser(TypeOid.int8, parseInt8);
  types.setTypeParser(TypeOid.date, parseDate);
  // pg's text[] parser splits the array literal (quoting, NULLs) for us. @types/pg declares
  // parsers as taking an OID, not the text, hence the cast.
  const textArray = types.getTypeParser(1009) as unknown as (text: string) => (string | null)[];
  types.setTypeParser(TypeOid.int8Array, (text: string) =>
    textArray(text).map((item) => (item === null ? null : parseInt8(item))),
  );
  return types;
}

function toResult<T>(result: PgQueryResult): QueryResult<T> {
  return { rows: result.rows as T[], rowCount: result.rowCount ?? 0 };
}

/** A Queryable over one checked-out client (a transaction or a dedicated session). */
function clientQueryable(client: PoolClient): Queryable {
  return {
    query: <T>(sql: string, params: readonly unknown[] = []) =>
      mapDbErrors(async () => toResult<T>(await client.query(sql, [...params]))),
    exec: (sqlScript: string) =>
      mapDbErrors(async () => {
        // No values array: pg then uses the simple protocol, which accepts several statements.
        await client.query(sqlScript);
      }),
  };
}

/** Clients whose ROLLBACK failed: their state is unknown, so they are discarded on release. */
const broken = new WeakSet<PoolClient>();

async function inTransaction<R>(client: PoolClient, fn: (tx: Queryable) => Promise<R>): Promise<R> {
  await mapDbErrors(() => client.query("BEGIN"));
  let result: R;
  try {
    result = await fn(clientQueryable(client));
  } catch (reason) {
    // A failed ROLLBACK means the session is gone, and the server rolls back on its own then.
    await client.query("ROLLBACK").catch(() => broken.add(client));
    throw reason;
  }
  const commit = await mapDbErrors(() => client.query("COMMIT"));
  // Postgres answers COMMIT of a transaction in which a statement failed (and `fn` swallowed the
  // error) with ROLLBACK and no error; report it the way PGlite does, so no caller believes it.
  if (commit.command === "ROLLBACK") {
    throw new AppError(ErrorCode.Internal, "Transaction was rolled back instead of committed", {
      details: { sqlState: "25P02" },
    });
  }
  return result;
}

/**
 * Opens a `pg` pool on a Postgres server and checks it with one round trip, so a wrong URL or a
 * down server fails here as an `unavailable` AppError rather than at the first request.
 */
export async function createPgDb(
  url: string,
  options: DbOptions & { readonly tuning?: Partial<PgDbTuning> },
): Promise<Db> {
  const tuning = { ...defaultTuning, ...options.tuning };
  const log = options.log;
  const pool = new Pool({
    connectionString: url,
    max: tuning.maxConnections,
    connectionTimeoutMillis: tuning.connectTimeoutMs,
    idleTimeoutMillis: tuning.idleTimeoutMs,
    types: alignedTypes(),
  });
  // An idle client losing its socket is reported here; without a listener it would crash the
  // process. The pool drops that client and opens a new one on demand.
  pool.on("error", (error) => log.warn({ err: error }, "postgres: idle connection failed"));
  let closed = false;

  async function checkout(): Promise<PoolClient> {
    if (closed) throw closedError("postgres");
    return mapDbErrors(() => pool.connect());
  }

  /**
   * Runs `fn` on a checked-out client. `discardOnError`: after a failed `withConnection` the
   * session may hold a lock or be mid-transaction, so it is closed rather than handed to the
   * next caller; a failed transaction has already rolled back and its session is reused.
   */
  async function withClient<R>(fn: (client: PoolClient) => Promise<R>, discardOnError: boolean): Promise<R> {
    const client = await checkout();
    // The pool listens for errors only on idle clients; a checked-out client whose socket dies
    // between two queries would otherwise raise an uncaught 'error' event.
    const onError = (error: Error) => log.warn({ err: error }, "postgres: session failed while in use");
    client.on("error", onError);
    let failed = true;
    try {
      const result = await fn(client);
      failed = false;
      return result;
    } finally {
      client.off("error", onError);
      client.release((failed && discardOnError) || broken.has(client));
    }
  }

  const db: Db = {
    kind: "postgres",
    query: <T>(sql: string, params: readonly unknown[] = []) => {
      if (closed) return Promise.reject(closedError("postgres"));
      return mapDbErrors(async () => toResult<T>(await pool.query(sql, [...params])));
    },
    exec: (sqlScript: string) => {
      if (closed) return Promise.reject(closedError("postgres"));
      // Without values pg uses the simple protocol, which accepts several statements.
      return mapDbErrors(async () => {
        await pool.query(sqlScript);
      });
    },
    transaction: (fn) => withClient((client) => inTransaction(client, fn), false),
    withConnection: <R>(fn: (conn: Connection) => Promise<R>) =>
      withClient((client) => {
        const conn: Connection = {
          ...clientQueryable(client),
          transaction: (inner) => inTransaction(client, inner),
        };
        return fn(conn);
      }, true),
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };

  try {
    await db.query("SELECT 1");
  } catch (reason) {
    await pool.end().catch(() => undefined);
    const error = toDbError(reason);
    throw new AppError(error.code, `cannot open Postgres database: ${error.message}`, {
      cause: error,
      ...(error.details === undefined ? {} : { details: error.details }),
    });
  }
  return db;
}
