/**
 * The job engine of one collector: claims due tasks from the durable queue (`queue.ts`) up to
 * its concurrency limits, runs each (`task-runner.ts`), renews their leases every second (which
 * also stores progress and notices a cancel made through any collector), records how each
 * ended, then claims and runs the merge of every job whose tasks all ended (`finalize.ts`).
 * It wakes at once on a submit or a task's end, on a job event from another collector, when a
 * retry falls due, and otherwise every `pollMs` to pick up work other collectors queued.
 */
import type { Logger } from "@pcapfleet/core";
import type { AuditLog } from "../audit/audit-log.js";
import type { Db } from "../db/index.js";
import type { Kv } from "../kv/index.js";
import { JOB_PROGRESS_CHANNEL } from "../realtime/events.js";
import type { AgentClients } from "./agent-clients.js";
import type { JobsConfig } from "./config.js";
import { mergeJob } from "./finalize.js";
import { publishJobEvent } from "./job-actions.js";
import { createJobStore } from "./job-store.js";
import { type ClaimedTask, createQueue } from "./queue.js";
import { runTask, type TaskProgress, type TaskRunnerDeps } from "./task-runner.js";

/** What the engine needs. */
export interface JobEngineDeps {
  readonly db: Db;
  readonly kv: Kv;
  readonly log: Logger;
  readonly audit: AuditLog;
  readonly clients: AgentClients;
  readonly dataDir: string;
  readonly config: JobsConfig;
  /** This collector's identity in leases; stable across restarts of the same collector. */
  readonly owner: string;
}

/** See the module comment. */
export interface JobEngine {
  /** Gives back tasks a crashed run of this collector held, subscribes, starts the loop. */
  start(): Promise<void>;
  /** Looks for work now (after a submit). */
  wake(): void;
  /** Stops claiming, stops running tasks and merges (they stay resumable), gives them back. */
  stop(): Promise<void>;
  /** Tasks running here now. */
  running(): number;
}

interface Running {
  readonly jobId: string;
  readonly sensor: string;
  readonly controller: AbortController;
  readonly progress: TaskProgress;
  readonly done: Promise<void>;
}

/** Creates the engine; nothing runs before {@link JobEngine.start}. */
export function createJobEngine(deps: JobEngineDeps): JobEngine {
  const { config, log } = deps;
  const queue = createQueue({ db: deps.db, owner: deps.owner, leaseMs: config.leaseS * 1000 });
  const store = createJobStore(deps.db);
  const runnerDeps: TaskRunnerDeps = {
    clients: deps.clients,
    dataDir: deps.dataDir,
    log,
    idleTimeoutMs: config.idleTimeoutS * 1000,
    maxAttempts: config.maxAttempts,
    retryBaseMs: config.retryBaseS * 1000,
    retryMaxMs: config.retryMaxS * 1000,
  };
  const tasks = new Map<string, Running>();
  const merges = new Map<string, { controller: AbortController; done: Promise<void> }>();
  let stopped = true;
  let ticking = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let renewTimer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => Promise<void>) | undefined;

  const publish = (event: Record<string, unknown>): void => publishJobEvent(deps.kv, event);

  const schedule = async (): Promise<void> => {
    if (stopped) return;
    let wait = config.pollMs;
    try {
      const due = await queue.nextDue();
      if (due !== null) wait = Math.min(wait, Math.max(10, due.getTime() - Date.now()));
    } catch (error) {
      log.warn({ err: error }, "job queue: cannot read the next due time");
    }
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void tick(), wait);
  };

  const launch = (claimed: ClaimedTask): void => {
    const { task, job } = claimed;
    const controller = new AbortController();
    const progress: TaskProgress = { received: task.received_bytes, expected: task.expected_bytes };
    publish({
      job_id: job.id,
      task_id: task.id,
      sensor: task.sensor,
      status: "running",
      attempt: task.attempts,
    });
    const done = runTask(claimed, runnerDeps, controller.signal, progress)
      .then(async (end) => {
        if (end === "stopping" || end === "cancelled") return;
        const recorded = await queue.end(task.id, end);
        publish({
          job_id: job.id,
          task_id: task.id,
          sensor: task.sensor,
          status: end.kind === "delivered" ? end.status : end.kind === "failed" ? "failed" : "pending",
          error_code: end.kind === "delivered" ? end.errorCode : end.code,
          recorded,
        });
      })
      .catch((error: unknown) => log.error({ err: error, taskId: task.id }, "task bookkeeping failed"))
      .finally(() => {
        tasks.delete(task.id);
        wake();
      });
    tasks.set(task.id, { jobId: job.id, sensor: task.sensor, controller, progress, done });
  };

  const launchMerge = (jobId: string): void => {
    const controller = new AbortController();
    const renew = setInterval(
      () => {
        queue
          .renewMerge(jobId)
          .then((held) => {
            if (!held) controller.abort("cancelled");
          })
          .catch(() => undefined);
      },
      Math.max(200, (config.leaseS * 1000) / 3),
    );
    const done = (async () => {
      const job = await store.row(jobId);
      const jobTasks = await store.tasks(jobId);
      let outcome: {
        status: "complete" | "partial" | "failed" | "queued" | "running" | "cancelled";
        errorMessage: string | null;
      };
      try {
        outcome = await mergeJob(job, jobTasks, { ...deps, log }, controller.signal);
      } catch (error) {
        if (controller.signal.aborted) return;
        log.error({ err: error, jobId }, "merge failed");
        outcome = {
          status: "failed",
          errorMessage: `merging the results failed: ${(error as Error).message}`,
        };
      }
      if (await queue.finish(jobId, outcome.status, outcome.errorMessage)) {
        publish({ job_id: jobId, status: outcome.status });
        log.info({ jobId, status: outcome.status }, "job finished");
      }
    })()
      .catch((error: unknown) => log.error({ err: error, jobId }, "job finish failed"))
      .finally(() => {
        clearInterval(renew);
        merges.delete(jobId);
      });
    merges.set(jobId, { controller, done });
  };

  const tick = async (): Promise<void> => {
    if (stopped) return;
    if (ticking) {
      again = true;
      return;
    }
    ticking = true;
    try {
      do {
        again = false;
        const claimed = await queue.claim(config.maxRunningTasks - tasks.size, config.perSensorTasks);
        for (const c of claimed) launch(c);
        for (const jobId of await queue.claimMerges()) launchMerge(jobId);
      } while (again && !stopped);
    } catch (error) {
      log.warn({ err: error }, "job queue: claim failed; retrying");
    } finally {
      ticking = false;
      await schedule();
    }
  };

  const wake = (): void => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void tick(), 0);
  };

  const renewLeases = async (): Promise<void> => {
    if (tasks.size === 0) return;
    const snapshot = new Map([...tasks].map(([id, t]) => [id, { ...t.progress }]));
    const held = await queue.renew(snapshot);
    for (const [id, t] of tasks) {
      if (snapshot.has(id) && !held.has(id)) t.controller.abort("cancelled");
      else if (snapshot.has(id)) {
        publish({ job_id: t.jobId, task_id: id, sensor: t.sensor, status: "running", ...t.progress });
      }
    }
  };

  const abortJob = (jobId: string): void => {
    for (const t of tasks.values()) if (t.jobId === jobId) t.controller.abort("cancelled");
    merges.get(jobId)?.controller.abort("cancelled");
  };

  return {
    async start() {
      stopped = false;
      // Tasks this collector held when it last stopped without giving them back resume now.
      await queue.releaseAll();
      const off = await deps.kv.subscribe(JOB_PROGRESS_CHANNEL, (message) => {
        try {
          const event = JSON.parse(message) as { job_id?: unknown; status?: unknown; task_id?: unknown };
          if (typeof event.job_id !== "string" || event.task_id !== undefined) return;
          if (event.status === "cancelled") abortJob(event.job_id);
          else if (event.status === "queued") wake();
        } catch {
          // Another writer's malformed message; the hub logs those.
        }
      });
      unsubscribe = off;
      renewTimer = setInterval(() => {
        renewLeases().catch((error: unknown) => log.warn({ err: error }, "lease renewal failed"));
      }, config.renewMs);
      wake();
    },
    wake,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      clearInterval(renewTimer);
      await unsubscribe?.();
      for (const t of tasks.values()) t.controller.abort("stopping");
      for (const m of merges.values()) m.controller.abort("stopping");
      await Promise.all([...tasks.values()].map((t) => t.done));
      await Promise.all([...merges.values()].map((m) => m.done));
      await queue
        .releaseAll()
        .catch((error: unknown) => log.warn({ err: error }, "could not give tasks back"));
    },
    running: () => tasks.size,
  };
}
