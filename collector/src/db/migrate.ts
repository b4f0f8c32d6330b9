import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { AppError, ErrorCode, type Logger } from "@pcapfleet/core";
import { toDbError } from "./errors.js";
import type { Connection, Db } from "./types.js";

/**
 * Applies numbered SQL migrations (`sql/001_core.sql`, ...) once each, in order. Collectors
 * that start together serialise on one session-level advisory lock, so each file runs exactly
 * once across the fleet. Each file runs in its own transaction, so a failing file leaves the
 * database as it was before that file. Files must therefore not contain BEGIN/COMMIT or
 * statements that refuse to run in a transaction (CREATE INDEX CONCURRENTLY).
 */

/** Names a migration file must have: a three-digit version, an underscore, a snake_case name. */
export const migrationFilePattern = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/**
 * Key of the advisory lock that serialises migration runs: an arbitrary constant, below 2^53
 * so it survives as a JS number, and unlikely to collide with application locks.
 */
export const migrationLockKey = 7_261_524_117_280_305;

/** One migration file as found on disk. */
export interface MigrationFile {
  /** The number before the first underscore. */
  readonly version: number;
  /** The part between the version and `.sql`. */
  readonly name: string;
  /** The file name, used in every message. */
  readonly file: string;
  /** The file's text. */
  readonly sql: string;
  /** sha256 of the file's bytes, hex. */
  readonly checksum: string;
}

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** Receives one line per applied file and warnings about stray files. */
  readonly log: Logger;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** Files applied by this call, in order. */
  readonly applied: readonly string[];
  /** Highest version recorded once the call finished; 0 when there are none. */
  readonly version: number;
}

interface AppliedRow {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
}

/**
 * Reads the migration files of `dir` in version order. Files not matching
 * {@link migrationFilePattern} are skipped, with a warning when they end in `.sql` (a typo would
 * otherwise silently never run). Two files with one version are an error.
 */
export async function readMigrations(dir: string, log: Logger): Promise<MigrationFile[]> {
  let entries: string[];
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? String(cause);
    throw new AppError(ErrorCode.StorageIo, `cannot read migrations directory ${dir}: ${reason}`, { cause });
  }
  const files: MigrationFile[] = [];
  for (const file of entries.sort()) {
    const match = migrationFilePattern.exec(file);
    if (match === null) {
      if (file.endsWith(".sql")) {
        log.warn({ file, dir }, `migrations: ignoring ${file}: name does not match NNN_name.sql`);
      }
      continue;
    }
    const bytes = await readFile(join(dir, file));
    files.push({
      version: Number(match[1]),
      name: match[2] ?? "",
      file,
      sql: bytes.toString("utf8"),
      checksum: createHash("sha256").update(bytes).digest("hex"),
    });
  }
  files.sort((a, b) => a.version - b.version);
  for (let i = 1; i < files.length; i += 1) {
    const [before, here] = [files[i - 1], files[i]];
    if (before !== undefined && here !== undefined && before.version === here.version) {
      throw new AppError(
        ErrorCode.InvalidArgument,
        `migrations ${before.file} and ${here.file} share version ${here.version}`,
      );
    }
  }
  return files;
}

/**
 * Applies the pending migrations of `dir` to `db` and records each in `schema_migrations`
 * (version, name, sha256 checksum, applied_at). Safe to call from several processes at once.
 *
 * @throws AppError `conflict` when an applied file's checksum changed (naming the file); the
 *   mapped SQL error code, with the file name and Postgres' message, when a file fails.
 */
export async function migrate(db: Db, dir: string, options: MigrateOptions): Promise<MigrateResult> {
  const log = options.log;
  const files = await readMigrations(dir, log);
  // The lock is session-scoped, so it needs one dedicated session for the whole run: taken on a
  // pooled query it could be released on a different connection than it was taken on.
  return db.withConnection(async (conn) => {
    await conn.query("SELECT pg_advisory_lock($1)", [migrationLockKey]);
    try {
      return await applyPending(conn, files, log);
    } finally {
      // If this fails the session is discarded, and the server drops the lock with it.
      await conn
        .query("SELECT pg_advisory_unlock($1)", [migrationLockKey])
        .catch((error: unknown) => log.warn({ err: error }, "migrations: advisory unlock failed"));
    }
  });
}

async function applyPending(
  conn: Connection,
  files: readonly MigrationFile[],
  log: Logger,
): Promise<MigrateResult> {
  await conn.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const { rows } = await conn.query<AppliedRow>(
    "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
  );
  const applied = new Map(rows.map((row) => [row.version, row]));
  // Check every applied file before running anything: a database and a code base that disagree
  // about history must not be moved further apart.
  for (const file of files) {
    const row = applied.get(file.version);
    if (row === undefined) continue;
    if (row.checksum !== file.checksum) {
      throw new AppError(
        ErrorCode.Conflict,
        `migration ${file.file} was changed after it was applied ` +
          `(checksum ${row.checksum.slice(0, 12)}… recorded, ${file.checksum.slice(0, 12)}… on disk)`,
        { details: { file: file.file, version: file.version } },
      );
    }
    if (row.name !== file.name) {
      log.warn({ file: file.file, recorded: row.name }, "migrations: applied file was renamed");
    }
  }
  const known = new Set(files.map((file) => file.version));
  const unknown = rows.filter((row) => !known.has(row.version)).map((row) => row.version);
  if (unknown.length > 0) {
    // A newer collector may have migrated further during a rolling upgrade: say so, carry on.
    log.warn({ versions: unknown }, "migrations: database has versions this collector does not know");
  }

  const done: string[] = [];
  let highest = rows.reduce((max, row) => Math.max(max, row.version), 0);
  for (const file of files) {
    if (applied.has(file.version)) continue;
    const started = Date.now();
    try {
      await conn.transaction(async (tx) => {
        await tx.exec(file.sql);
        await tx.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", [
          file.version,
          file.name,
          file.checksum,
        ]);
      });
    } catch (reason) {
      const error = toDbError(reason);
      throw new AppError(error.code, `migration ${file.file} failed: ${error.message}`, {
        cause: error,
        details: { ...error.details, file: file.file },
      });
    }
    done.push(file.file);
    highest = Math.max(highest, file.version);
    log.info({ migration: file.file, ms: Date.now() - started }, "migrations: applied");
  }
  return { applied: done, version: highest };
}
