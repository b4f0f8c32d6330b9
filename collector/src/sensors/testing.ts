import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { migrate } from "../db/index.js";
import { silentLogger } from "../db/testing.js";
import type { Db } from "../db/types.js";

/**
 * Test support for the sensor, ingest and partition suites: applies `sql/001_core.sql` alone
 * (through the real migration runner), so these suites do not depend on later migrations that
 * other features own.
 */

/** The repository's `sql/001_core.sql`. */
export const coreMigrationFile = fileURLToPath(new URL("../../../sql/001_core.sql", import.meta.url));

/** Applies migration 001 to `db`. */
export async function migrateCore(db: Db): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "pcapfleet-core-sql-"));
  try {
    await copyFile(coreMigrationFile, join(dir, "001_core.sql"));
    await migrate(db, dir, { log: silentLogger() });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Polls `probe` until it returns true or `timeoutMs` passes; true when it did. */
export async function eventually(
  probe: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
