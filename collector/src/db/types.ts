import type { Logger } from "@pcapfleet/core";

/**
 * The shapes every database backend implements. The collector speaks plain Postgres SQL to one
 * {@link Db}; whether a `pg` pool or an embedded PGlite sits behind it is decided once, in
 * `openDb`, so no caller branches on the backend.
 */

/** Which engine sits behind a {@link Db}. */
export type DbKind = "postgres" | "pglite";

/** The rows of one statement and how many rows it returned or changed. */
export interface QueryResult<T> {
  /** Result rows, with columns parsed as described in {@link Queryable.query}. */
  readonly rows: T[];
  /**
   * Rows returned (SELECT) or changed (INSERT/UPDATE/DELETE); 0 for statements without a count
   * (DDL). Both backends report the same number for the same statement.
   */
  readonly rowCount: number;
}

/**
 * Something SQL can be sent to: the database itself, a dedicated session, or an open
 * transaction.
 */
export interface Queryable {
  /**
   * Runs one statement with `$1`-style parameters (extended protocol, so values are never
   * spliced into the SQL text).
   *
   * Type parsing is aligned across backends: `int8` and `int8[]` come back as JS numbers
   * (exact up to 2^53; cast to text in SQL when a value may be larger), `date` as the
   * `YYYY-MM-DD` text, `numeric` as text, `timestamptz` as `Date`, `json`/`jsonb` parsed.
   * `T` is asserted, not checked: it is the caller's promise about the row shape.
   *
   * @throws AppError mapped from the SQLSTATE (see `toDbError`).
   */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>>;

  /**
   * Runs a script of one or more `;`-separated statements without parameters (simple
   * protocol), for migrations and setup. Outside a transaction the script is one implicit
   * transaction: an error rolls back the statements before it.
   *
   * @throws AppError mapped from the SQLSTATE.
   */
  exec(sqlScript: string): Promise<void>;
}

/** A session that can also open transactions: the database, or a dedicated connection. */
export interface Connection extends Queryable {
  /**
   * Runs `fn` inside BEGIN/COMMIT on one session. Resolves to what `fn` resolves to after
   * COMMIT; when `fn` throws (or COMMIT fails) the transaction is rolled back and the error is
   * re-thrown unchanged. Use only the `tx` argument inside `fn`: on PGlite, calling the outer
   * handle from inside `fn` throws instead of deadlocking.
   */
  transaction<R>(fn: (tx: Queryable) => Promise<R>): Promise<R>;
}

/** The collector's database: a pool of sessions (Postgres) or one embedded session (PGlite). */
export interface Db extends Connection {
  /** The engine behind this handle. */
  readonly kind: DbKind;

  /**
   * Runs `fn` on one dedicated session, for session-scoped state such as
   * `pg_advisory_lock`. Use the `conn` argument inside `fn`. If `fn` throws, the session is
   * discarded (Postgres) or rolled back and its advisory locks released (PGlite), so a failure
   * never leaks a lock or an open transaction to the next user.
   *
   * On PGlite there is only one session, so `withConnection` holds it exclusively: other
   * callers wait until `fn` settles. Calls on the outer handle made from inside `fn` run on the
   * same session rather than deadlocking.
   */
  withConnection<R>(fn: (conn: Connection) => Promise<R>): Promise<R>;

  /** Waits for running work, then releases every connection. Later calls fail as `unavailable`. */
  close(): Promise<void>;
}

/** Dependencies shared by the backend factories. */
export interface DbOptions {
  /** Logger for pool errors and migrations; a child logger is a good fit. */
  readonly log: Logger;
}

/** Inputs of `openDb`: a Postgres URL, or else the data directory for embedded PGlite. */
export interface OpenDbOptions extends DbOptions {
  /** Postgres connection URL; when set, a `pg` pool is used. */
  readonly databaseUrl?: string | undefined;
  /** The collector's data directory; PGlite keeps its files in `<dataDir>/pglite`. */
  readonly dataDir: string;
}

/** `int8` text to number; shared by both backends so they parse alike. */
export function parseInt8(text: string): number {
  return Number(text);
}

/** `date` stays text: a calendar day has no time zone, and a `Date` would invent one. */
export function parseDate(text: string): string {
  return text;
}

/** Postgres type OIDs whose parsing is aligned across backends. */
export const TypeOid = {
  int8: 20,
  int8Array: 1016,
  date: 1082,
} as const;
