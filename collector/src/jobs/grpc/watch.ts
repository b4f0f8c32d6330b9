/**
 * WatchJob: the job now, then again whenever it changes, until it reaches a terminal status or
 * the caller goes away. Changes are learnt from the job progress channel (every collector's
 * engine publishes there, so a job running on another collector is seen too); bursts (a task
 * event per sensor and a progress event per second each) are coalesced to a few snapshots a
 * second, and a slow poll covers a lost pub/sub message.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Kv } from "../../kv/index.js";
import { JOB_PROGRESS_CHANNEL } from "../../realtime/events.js";
import { checkJobId, type JobStore } from "../job-store.js";
import { type JobView, type TaskView, terminalJobStates } from "../types.js";

/** Pacing of {@link watchJob}. */
export interface WatchOptions {
  /** Least time between two snapshots (200 ms: at most 5 a second). */
  readonly minIntervalMs: number;
  /** Re-read the job this often even without an event, in case one was lost. */
  readonly pollMs: number;
}

const defaults: WatchOptions = { minIntervalMs: 200, pollMs: 5_000 };

/** Whether a progress-channel message is about `jobId`. */
function concerns(message: string, jobId: string): boolean {
  try {
    return (JSON.parse(message) as { job_id?: unknown }).job_id === jobId;
  } catch {
    return false;
  }
}

/**
 * Yields snapshots of job `id` (with tasks): the first at once, then one per change, skipping
 * snapshots identical to the last one sent. Returns after a terminal snapshot or when `signal`
 * aborts. `not_found` for an unknown job, before anything is yielded.
 */
export async function* watchJob(
  deps: { readonly kv: Kv; readonly store: JobStore },
  id: string,
  signal: AbortSignal,
  options: Partial<WatchOptions> = {},
): AsyncGenerator<JobView & { tasks: TaskView[] }> {
  const { minIntervalMs, pollMs } = { ...defaults, ...options };
  const jobId = checkJobId(id);
  let changed = false;
  let wake: (() => void) | undefined;
  // Subscribed before the first read, so a change between the read and the wait is not missed.
  const unsubscribe = await deps.kv.subscribe(JOB_PROGRESS_CHANNEL, (message) => {
    if (!concerns(message, jobId)) return;
    changed = true;
    wake?.();
  });
  try {
    let last = "";
    let sentAt = 0;
    while (!signal.aborted) {
      changed = false;
      const job = await deps.store.get(jobId);
      const text = JSON.stringify(job);
      if (text !== last) {
        last = text;
        sentAt = Date.now();
        yield job;
      }
      if (terminalJobStates.includes(job.status)) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          wake = undefined;
          signal.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, pollMs);
        wake = done;
        signal.addEventListener("abort", done, { once: true });
        if (changed || signal.aborted) done();
      });
      const rest = sentAt + minIntervalMs - Date.now();
      if (rest > 0 && !signal.aborted) await sleep(rest, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    await unsubscribe();
  }
}
