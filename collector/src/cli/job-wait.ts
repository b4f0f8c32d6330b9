/**
 * `--wait`: follows a job over WatchJob until it ends, drawing a progress bar on stderr when it
 * is a terminal and writing one line per change otherwise (logs, CI). A broken stream (collector
 * restart, network) is reopened; the collector sends the whole job each time, so nothing is lost.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { AppError, ErrorCode } from "@pcapfleet/core";
import { type Job, JobStatusSchema, TaskErrorSchema, TaskStatusSchema } from "@pcapfleet/proto";
import { enumWord } from "../jobs/grpc/job-proto.js";
import type { Session } from "./session.js";

const terminalJob = new Set(["complete", "partial", "failed", "cancelled"]);
const terminalTask = new Set(["complete", "no_data", "failed", "cancelled"]);
/** Failures in a row after which waiting gives up. */
const MAX_RECONNECTS = 10;

/** Where progress goes. */
export interface ProgressSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** Whether a job status word is final. */
export const isTerminal = (job: Job): boolean => terminalJob.has(enumWord(JobStatusSchema, job.status));

/** Draws progress: a bar redrawn in place on a terminal, else one line per status change. */
export function createProgress(sink: ProgressSink) {
  const seen = new Map<string, string>();
  let drawn = false;
  return {
    update(job: Job): void {
      const status = enumWord(JobStatusSchema, job.status);
      const done = job.tasks.filter((t) => terminalTask.has(enumWord(TaskStatusSchema, t.status))).length;
      if (sink.isTTY === true) {
        const width = 24;
        const filled = Math.round(Math.min(1, Math.max(0, job.progress)) * width);
        const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
        const pct = `${Math.floor(job.progress * 100)}%`.padStart(4);
        sink.write(
          `\r\x1b[2Kjob ${job.id.slice(0, 8)} [${bar}] ${pct} ${status}, ${done}/${job.tasks.length} sensors done`,
        );
        drawn = true;
        return;
      }
      const lines: string[] = [];
      if (seen.get("") !== status) {
        seen.set("", status);
        lines.push(`job ${job.id}: ${status} (${done}/${job.tasks.length} sensors done)`);
      }
      for (const task of job.tasks) {
        const word = enumWord(TaskStatusSchema, task.status);
        if (seen.get(task.sensor) === word) continue;
        seen.set(task.sensor, word);
        const why =
          task.error === 0 ? "" : ` (${enumWord(TaskErrorSchema, task.error)}: ${task.errorMessage})`;
        const size = word === "complete" ? `, ${task.packets} packets` : "";
        lines.push(`  ${task.sensor}: ${word}${size}${why}`);
      }
      if (lines.length > 0) sink.write(`${lines.join("\n")}\n`);
    },
    end(): void {
      if (drawn) sink.write("\n");
      drawn = false;
    },
  };
}

function retryable(error: unknown): boolean {
  const code = AppError.from(error).code;
  return code === ErrorCode.Unavailable || code === ErrorCode.Cancelled;
}

/** Watches job `jobId` until it ends; resolves to its final state. */
export async function waitForJob(session: Session, jobId: string, sink: ProgressSink): Promise<Job> {
  const progress = createProgress(sink);
  let failures = 0;
  try {
    for (;;) {
      try {
        const final = await session.authed(async (options) => {
          const { responses } = session.jobs.watchJob({ jobId }, options);
          for await (const message of responses) {
            if (message.job === undefined) continue;
            failures = 0;
            progress.update(message.job);
            if (isTerminal(message.job)) return message.job;
          }
          return undefined;
        }, "stream");
        if (final !== undefined) return final;
        throw new AppError(ErrorCode.Unavailable, "the watch ended before the job did");
      } catch (error) {
        failures += 1;
        if (!retryable(error) || failures > MAX_RECONNECTS) throw error;
        await sleep(Math.min(5_000, 250 * 2 ** failures));
      }
    }
  } finally {
    progress.end();
  }
}
