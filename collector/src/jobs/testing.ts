import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate } from "../db/migrate.js";
import { silentLogger } from "../db/testing.js";
import type { Db } from "../db/types.js";

/** Test support: applies `sql/003_jobs.sql` alone (after 001 and 002), as the route tests need. */
export async function migrateJobs(db: Db): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "pcapfleet-jobs-sql-"));
  try {
    await copyFile(new URL("../../../sql/003_jobs.sql", import.meta.url), join(dir, "003_jobs.sql"));
    await migrate(db, dir, { log: silentLogger() });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
