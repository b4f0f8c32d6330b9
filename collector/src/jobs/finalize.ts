/**
 * The end of a job: once every task ended, the delivered slices are merged by timestamp into
 * one result (`mergeCaptures`, streaming, bounded memory), capped at the job's `max_bytes`,
 * hashed as it is written, and analysed in the same pass. Then the job gets its final status:
 * `complete` when no task failed, `partial` when some delivered and some failed, `failed` when
 * none delivered. The audit log records the custody: each task file's and the result's SHA-256.
 */
import { mkdir, rename, rm } from "node:fs/promises";
import type { Logger } from "@pcapfleet/core";
import { mergeCaptures } from "@pcapfleet/pcap";
import type { AuditLog } from "../audit/audit-log.js";
import type { Db } from "../db/index.js";
import { createAnalyser } from "./analysis/analyser.js";
import { HashingWriteStream, syncFile } from "./hashing-file.js";
import type { JobRow, TaskRow } from "./job-store.js";
import { jobDir, resultFile, taskFile } from "./result-paths.js";
import { windowNs } from "./task-runner.js";
import type { JobStatus } from "./types.js";

/** What finishing a job needs. */
export interface FinalizeDeps {
  readonly db: Db;
  readonly dataDir: string;
  readonly audit: AuditLog;
  readonly log: Logger;
}

/** The outcome of a merge, before it is stored. */
export interface Finalized {
  readonly status: JobStatus;
  readonly errorMessage: string | null;
}

/** The final status of a job from its tasks' states. */
export function jobOutcome(
  tasks: readonly Pick<TaskRow, "status" | "sensor" | "error_message">[],
): Finalized {
  if (tasks.length === 0) {
    return { status: "failed", errorMessage: "no sensor to ask: the job has no target sensors" };
  }
  const delivered = tasks.filter((t) => t.status === "complete").length;
  const failed = tasks.filter((t) => t.status === "failed");
  if (failed.length === 0) return { status: "complete", errorMessage: null };
  const why = failed.map((t) => `${t.sensor}: ${t.error_message ?? "failed"}`).join("; ");
  if (delivered > 0) {
    return { status: "partial", errorMessage: `${failed.length} of ${tasks.length} sensors failed: ${why}` };
  }
  return { status: "failed", errorMessage: `no sensor delivered: ${why}` };
}

/**
 * Merges the delivered task files of `job` into its result and stores the `job_results` row
 * (replacing one a crashed earlier merge may have left). `signal` aborts the merge.
 */
export async function mergeJob(
  job: JobRow,
  tasks: readonly TaskRow[],
  deps: FinalizeDeps,
  signal: AbortSignal,
): Promise<Finalized> {
  const outcome = jobOutcome(tasks);
  const inputs = tasks.filter((t) => t.status === "complete" && t.packets > 0);
  const { startNs, endNs } = windowNs(job.spec);
  const analyser = createAnalyser({
    windowStartMs: Number(startNs / 1_000_000n),
    windowEndMs: Number(endNs / 1_000_000n),
  });
  const temp = `${jobDir(deps.dataDir, job.id)}/result.partial`;
  await mkdir(jobDir(deps.dataDir, job.id), { recursive: true });
  const out = new HashingWriteStream(temp);
  let merged: Awaited<ReturnType<typeof mergeCaptures>>;
  try {
    // The merge ends the stream when it is done (or failed).
    merged = await mergeCaptures(
      inputs.map((t) => taskFile(deps.dataDir, job.id, t.id)),
      out,
      {
        maxBytes: job.max_bytes,
        signal,
        onPacket: (rec) => analyser.observe(rec),
      },
    );
    await syncFile(temp);
  } catch (error) {
    out.abandon();
    await rm(temp, { force: true });
    throw error;
  }
  const path = resultFile(deps.dataDir, job.id, merged.format);
  await rename(temp, path);
  const sha256 = await out.digest();
  const analysis = analyser.result();
  await deps.db.query(
    `INSERT INTO job_results (job_id, path, format, packets, bytes, sha256, truncated, analysis)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (job_id) DO UPDATE SET path = EXCLUDED.path, format = EXCLUDED.format,
       packets = EXCLUDED.packets, bytes = EXCLUDED.bytes, sha256 = EXCLUDED.sha256,
       truncated = EXCLUDED.truncated, analysis = EXCLUDED.analysis, created_at = now(), expired_at = NULL`,
    [
      job.id,
      path,
      merged.format,
      merged.packets,
      merged.bytes,
      sha256,
      merged.truncated,
      JSON.stringify(analysis),
    ],
  );
  if (merged.skipped.length > 0) {
    deps.log.warn(
      {
        jobId: job.id,
        skipped: merged.skipped.map((s) => ({ task: inputs[s.input]?.id, error: s.error.message })),
      },
      "merge left out part of some task files",
    );
  }
  await deps.audit.record({
    actor: job.owner,
    action: "job.result",
    target: job.id,
    ip: null,
    details: {
      status: outcome.status,
      window: [job.spec.start_time, job.spec.end_time],
      filter: job.effective_filter,
      result: { sha256, bytes: merged.bytes, packets: merged.packets, truncated: merged.truncated },
      tasks: tasks.map((t) => ({
        sensor: t.sensor,
        status: t.status,
        error_code: t.error_code,
        sha256: t.sha256,
        bytes: t.bytes,
        packets: t.packets,
      })),
    },
  });
  return outcome;
}
