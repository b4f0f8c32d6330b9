/**
 * Retention of job results: results older than `resultRetentionDays` go, then the oldest ones
 * while all live results together exceed `resultMaxTotalBytes`. "Go" means the job's folder
 * (result and task files) is deleted and `job_results.expired_at` set: jobs, tasks, hashes and
 * analysis stay, so the record of who pulled what survives the bytes. Safe with several
 * collectors: each result is expired by one UPDATE that only one of them wins.
 */
import { rm } from "node:fs/promises";
import type { Logger } from "@pcapfleet/core";
import type { Db } from "../db/index.js";
import { createPeriodic, type Periodic } from "../partitions/periodic.js";
import type { JobsConfig } from "./config.js";
import { jobDir } from "./result-paths.js";

/** What one run removed. */
export interface RetentionRun {
  readonly expired: number;
  readonly bytes: number;
}

/** Expires what the policy says; see the module comment. */
export async function applyRetention(
  db: Db,
  dataDir: string,
  config: Pick<JobsConfig, "resultRetentionDays" | "resultMaxTotalBytes">,
  log: Logger,
): Promise<RetentionRun> {
  const { rows } = await db.query<{ job_id: string; bytes: number }>(
    `WITH live AS (
       SELECT job_id, bytes, created_at,
              sum(bytes) OVER (ORDER BY created_at DESC, job_id DESC) AS newer_total
       FROM job_results WHERE expired_at IS NULL
     ),
     doomed AS (
       SELECT job_id FROM live
       WHERE created_at < now() - $1::double precision * interval '1 day' OR newer_total > $2
     )
     UPDATE job_results r SET expired_at = now()
     FROM doomed d WHERE r.job_id = d.job_id AND r.expired_at IS NULL
     RETURNING r.job_id::text AS job_id, r.bytes`,
    [config.resultRetentionDays, config.resultMaxTotalBytes],
  );
  let bytes = 0;
  for (const row of rows) {
    bytes += row.bytes;
    await rm(jobDir(dataDir, row.job_id), { recursive: true, force: true }).catch((error: unknown) =>
      log.warn({ err: error, jobId: row.job_id }, "retention: could not delete the job's files"),
    );
  }
  if (rows.length > 0) log.info({ expired: rows.length, bytes }, "retention: results deleted");
  return { expired: rows.length, bytes };
}

/** Runs {@link applyRetention} at start and every `retentionIntervalMinutes`. */
export function createResultRetention(db: Db, dataDir: string, config: JobsConfig, log: Logger): Periodic {
  return createPeriodic({
    run: () => applyRetention(db, dataDir, config, log),
    intervalMs: config.retentionIntervalMinutes * 60_000,
    log,
    failure: "retention: run failed",
  });
}
