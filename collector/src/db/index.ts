/**
 * The collector's data layer: one {@link Db} interface over a `pg` pool or embedded PGlite, the
 * SQLSTATE-to-AppError mapping, and the migration runner.
 */
export { codeForSqlState, toDbError } from "./errors.js";
export {
  type MigrateOptions,
  type MigrateResult,
  type MigrationFile,
  migrate,
  migrationFilePattern,
  migrationLockKey,
  readMigrations,
} from "./migrate.js";
export { openDb } from "./open.js";
export { createPgDb, type PgDbTuning } from "./pg.js";
export { createPgliteDb } from "./pglite.js";
export type {
  Connection,
  Db,
  DbKind,
  DbOptions,
  OpenDbOptions,
  Queryable,
  QueryResult,
} from "./types.js";
