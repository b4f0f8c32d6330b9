/**
 * Submitting and cancelling a job, whichever surface asks: the checks, the rows, the audit entry,
 * the engine's wake-up and the progress event, in the order `POST /jobs` and `DELETE /jobs/{id}`
 * do them. The REST routes and the gRPC JobService both call these, so the two surfaces cannot
 * drift apart.
 */
import { AppError, ErrorCode } from "@pcapfleet/core";
import type { Kv } from "../kv/index.js";
import { JOB_PROGRESS_CHANNEL } from "../realtime/events.js";
import type { Role } from "../users/types.js";
import type { JobStore } from "./job-store.js";
import type { JobRoutesDeps } from "./routes.js";
import { resolveTargets } from "./routing.js";
import { checkFilter, effectiveFilter, type JobSpecInput } from "./spec.js";
import type { JobView, TaskView } from "./types.js";

/** What submitting and cancelling need: the job routes' dependencies. */
export type JobActionDeps = Pick<JobRoutesDeps, "db" | "kv" | "audit" | "config" | "log" | "wake">;

/** Who asks, for ownership, roles and the audit log. */
export interface JobActor {
  readonly username: string;
  readonly role: Role;
  /** Client address for the audit log. */
  readonly ip: string | null;
}

/** Publishes a job event on the progress channel; a lost event only delays listeners (they poll too). */
export function publishJobEvent(kv: Kv, event: Readonly<Record<string, unknown>>): void {
  kv.publish(JOB_PROGRESS_CHANNEL, JSON.stringify(event)).catch(() => undefined);
}

/**
 * Queues a job from a validated body: the effective filter compiled by libpcap (a bad one is
 * `invalid_argument` with libpcap's message), targets resolved, job and tasks stored, `job.submit`
 * audited, the engine woken and `queued` published. Resolves to the job as queued.
 */
export async function submitJob(
  deps: JobActionDeps,
  store: JobStore,
  actor: JobActor,
  spec: JobSpecInput,
): Promise<JobView & { tasks: TaskView[] }> {
  const filter = effectiveFilter(spec);
  if (!(await checkFilter(filter))) {
    deps.log.warn("tcpdump is not installed on the collector: job filters are checked by the agents");
  }
  const targets = await resolveTargets(deps.db, spec);
  if (targets.length === 0) throw new AppError(ErrorCode.InvalidArgument, "no sensor is registered yet");
  const id = await store.create({
    owner: actor.username,
    spec,
    effectiveFilter: filter,
    maxBytes: spec.max_bytes ?? deps.config.defaultMaxBytes,
    targets,
  });
  await deps.audit.record({
    actor: actor.username,
    action: "job.submit",
    target: id,
    ip: actor.ip,
    details: {
      window: [spec.start_time, spec.end_time],
      filter,
      sensors: targets.map((t) => t.sensor),
      ...(spec.scheduled_at === undefined ? {} : { scheduled_at: spec.scheduled_at }),
    },
  });
  deps.wake();
  publishJobEvent(deps.kv, { job_id: id, status: "queued" });
  return store.get(id);
}

/**
 * Cancels a job that has not finished, under the `own-job` rule (its owner, or an admin):
 * `permission_denied` for someone else's job, `conflict` when it already finished. Audits
 * `job.cancel` and publishes `cancelled`, which stops the engines' running tasks.
 */
export async function cancelJob(
  deps: JobActionDeps,
  store: JobStore,
  actor: JobActor,
  id: string,
): Promise<JobView & { tasks: TaskView[] }> {
  const row = await store.row(id);
  if (actor.role !== "admin" && row.owner !== actor.username) {
    throw new AppError(
      ErrorCode.PermissionDenied,
      `job ${row.id} belongs to ${row.owner}: only its owner or an admin may cancel it`,
    );
  }
  const changed = await store.cancel(row.id, actor.username);
  const job = await store.get(row.id);
  if (!changed) throw new AppError(ErrorCode.Conflict, `job ${job.id} already finished: ${job.status}`);
  await deps.audit.record({ actor: actor.username, action: "job.cancel", target: job.id, ip: actor.ip });
  publishJobEvent(deps.kv, { job_id: job.id, status: "cancelled" });
  return job;
}
