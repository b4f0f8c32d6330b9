/**
 * The durable queue: the engine's moves on `jobs` and `tasks`. A collector claims due tasks with
 * `FOR UPDATE SKIP LOCKED` and holds each under a lease it renews while the task runs; a task
 * whose lease ran out (its collector died) is claimable again and resumes. The merge of a job
 * whose tasks all ended is claimed the same way. Every move is one statement or one short
 * transaction, so two collectors on one database never run one task, or one merge, twice.
 */
import type { Db } from "../db/index.js";
import type { JobRow, TaskRow } from "./job-store.js";
import type { JobStatus, TaskError } from "./types.js";

/** A task this collector now holds, with what running it needs. */
export interface ClaimedTask {
  readonly task: TaskRow;
  readonly job: JobRow;
  /** The agent's CaptureService address as its last heartbeat advertised it ('' when none). */
  readonly agentAddress: string;
  /** The sensor's computed status; undefined when the sensor is unknown. */
  readonly sensorStatus: string | undefined;
}

/** How a task ended, as the runner reports it. */
export type TaskEnd =
  | {
      readonly kind: "delivered";
      /** complete, or no_data when nothing matched or the window is not held. */
      readonly status: "complete" | "no_data";
      readonly packets: number;
      readonly bytes: number;
      readonly sha256: string | null;
      readonly truncated: boolean;
      readonly errorCode: TaskError | null;
      readonly message: string | null;
      readonly skipped: readonly { path: string; reason: string; detail: string }[];
    }
  | { readonly kind: "failed"; readonly code: TaskError; readonly message: string }
  | { readonly kind: "retry"; readonly code: TaskError; readonly message: string; readonly delayMs: number };

/** See {@link createQueue}. */
export interface JobQueue {
  /**
   * Claims up to `max` due tasks, at most `perSensor` running per sensor (counting every
   * collector's), oldest job first; their jobs become `running`.
   */
  claim(max: number, perSensor: number): Promise<ClaimedTask[]>;
  /**
   * Extends the leases of `tasks` and stores their received bytes; resolves to the ids still
   * held (a task missing was cancelled, or its lease was lost).
   */
  renew(tasks: ReadonlyMap<string, { received: number; expected: number }>): Promise<Set<string>>;
  /** Records the end of a task this collector holds; false when it no longer held it. */
  end(taskId: string, end: TaskEnd): Promise<boolean>;
  /** Gives back every task this collector holds (stopping): pending again, resumable at once. */
  releaseAll(): Promise<void>;
  /** Claims the merge of jobs whose tasks all ended. */
  claimMerges(): Promise<string[]>;
  /** Extends the merge lease of a job; false when the job was cancelled meanwhile. */
  renewMerge(jobId: string): Promise<boolean>;
  /** Sets the final status of a merged job (only if it is still open); false otherwise. */
  finish(jobId: string, status: JobStatus, errorMessage: string | null): Promise<boolean>;
  /** When the next pending task becomes due; null when none is waiting. */
  nextDue(): Promise<Date | null>;
}

/** Options of {@link createQueue}. */
export interface QueueOptions {
  readonly db: Db;
  /** This collector's identity in leases (host, pid and a random part). */
  readonly owner: string;
  /** How long a claim holds without renewal. */
  readonly leaseMs: number;
}

const taskCols = `t.id::text AS id, t.job_id::text AS job_id, t.sensor, t.routed_by, t.status,
  t.error_code, t.error_message, t.attempts, t.received_bytes, t.expected_bytes, t.packets, t.bytes,
  t.sha256, t.truncated, t.skipped_files, t.started_at, t.finished_at`;

/** The queue over `db`; see {@link JobQueue}. */
export function createQueue(options: QueueOptions): JobQueue {
  const { db, owner } = options;
  const lease = `${Math.max(1, Math.round(options.leaseMs))} milliseconds`;
  return {
    async claim(max, perSensor) {
      if (max <= 0) return [];
      const claimed = await db.transaction(async (tx) => {
        const { rows: candidates } = await tx.query<{ id: string; sensor: string }>(
          `SELECT t.id::text AS id, t.sensor FROM tasks t JOIN jobs j ON j.id = t.job_id
           WHERE ((t.status = 'pending' AND t.not_before <= now())
                  OR (t.status = 'running' AND t.lease_until < now()))
             AND j.status IN ('queued', 'running')
             AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
           ORDER BY j.created_at, t.sensor
           LIMIT $1
           FOR UPDATE OF t SKIP LOCKED`,
          [max * 4],
        );
        if (candidates.length === 0) return [];
        const { rows: busy } = await tx.query<{ sensor: string; n: number }>(
          `SELECT sensor, count(*)::int AS n FROM tasks
           WHERE status = 'running' AND lease_until >= now() AND sensor = ANY($1::text[])
           GROUP BY sensor`,
          [[...new Set(candidates.map((c) => c.sensor))]],
        );
        const running = new Map(busy.map((b) => [b.sensor, b.n]));
        const chosen: string[] = [];
        for (const candidate of candidates) {
          const n = running.get(candidate.sensor) ?? 0;
          if (n >= perSensor || chosen.length >= max) continue;
          running.set(candidate.sensor, n + 1);
          chosen.push(candidate.id);
        }
        if (chosen.length === 0) return [];
        const { rows } = await tx.query<TaskRow>(
          `UPDATE tasks t SET status = 'running', lease_owner = $2, lease_until = now() + $3::interval,
             attempts = t.attempts + 1, started_at = COALESCE(t.started_at, now())
           WHERE t.id = ANY($1::uuid[]) RETURNING ${taskCols}`,
          [chosen, owner, lease],
        );
        await tx.query(
          `UPDATE jobs SET status = 'running', started_at = COALESCE(started_at, now()), version = version + 1
           WHERE id IN (SELECT job_id FROM tasks WHERE id = ANY($1::uuid[])) AND status = 'queued'`,
          [chosen],
        );
        return rows;
      });
      if (claimed.length === 0) return [];
      const jobIds = [...new Set(claimed.map((t) => t.job_id))];
      const { rows: jobs } = await db.query<JobRow>(
        `SELECT id::text AS id, owner, description, start_time, end_time, spec, effective_filter,
           max_bytes, scheduled_at, status, error_message, created_at, started_at, finished_at, version
         FROM jobs WHERE id = ANY($1::uuid[])`,
        [jobIds],
      );
      const { rows: sensors } = await db.query<{ name: string; agent_address: string; status: string }>(
        `SELECT name, agent_address, status FROM sensors WHERE name = ANY($1::text[])`,
        [[...new Set(claimed.map((t) => t.sensor))]],
      );
      const jobById = new Map(jobs.map((j) => [j.id, j]));
      const sensorByName = new Map(sensors.map((s) => [s.name, s]));
      return claimed.flatMap((task) => {
        const job = jobById.get(task.job_id);
        if (job === undefined) return [];
        const sensor = sensorByName.get(task.sensor);
        return [{ task, job, agentAddress: sensor?.agent_address ?? "", sensorStatus: sensor?.status }];
      });
    },

    async renew(tasks) {
      if (tasks.size === 0) return new Set();
      const ids = [...tasks.keys()];
      const { rows } = await db.query<{ id: string }>(
        `UPDATE tasks t SET lease_until = now() + $2::interval, received_bytes = u.received,
           expected_bytes = u.expected
         FROM unnest($1::uuid[], $3::bigint[], $4::bigint[]) AS u (id, received, expected)
         WHERE t.id = u.id AND t.status = 'running' AND t.lease_owner = $5
         RETURNING t.id::text AS id`,
        [
          ids,
          lease,
          ids.map((id) => tasks.get(id)?.received ?? 0),
          ids.map((id) => tasks.get(id)?.expected ?? 0),
          owner,
        ],
      );
      return new Set(rows.map((r) => r.id));
    },

    async end(taskId, end) {
      const held = `WHERE id = $1 AND status = 'running' AND lease_owner = $2`;
      let result: { rowCount: number };
      if (end.kind === "delivered") {
        result = await db.query(
          `UPDATE tasks SET status = $3, packets = $4, bytes = $5, received_bytes = $5, sha256 = $6,
             truncated = $7, error_code = $8, error_message = $9, skipped_files = $10,
             finished_at = now(), lease_owner = NULL, lease_until = NULL ${held}`,
          [
            taskId,
            owner,
            end.status,
            end.packets,
            end.bytes,
            end.sha256,
            end.truncated,
            end.errorCode,
            end.message,
            JSON.stringify(end.skipped),
          ],
        );
      } else if (end.kind === "failed") {
        result = await db.query(
          `UPDATE tasks SET status = 'failed', error_code = $3, error_message = $4, finished_at = now(),
             lease_owner = NULL, lease_until = NULL ${held}`,
          [taskId, owner, end.code, end.message],
        );
      } else {
        result = await db.query(
          `UPDATE tasks SET status = 'pending', error_code = $3, error_message = $4,
             not_before = now() + $5::interval, lease_owner = NULL, lease_until = NULL ${held}`,
          [taskId, owner, end.code, end.message, `${Math.max(0, Math.round(end.delayMs))} milliseconds`],
        );
      }
      if (result.rowCount > 0) {
        await db.query(
          `UPDATE jobs SET version = version + 1 WHERE id = (SELECT job_id FROM tasks WHERE id = $1)`,
          [taskId],
        );
      }
      return result.rowCount > 0;
    },

    async releaseAll() {
      await db.query(
        `UPDATE tasks SET status = 'pending', not_before = now(), lease_owner = NULL, lease_until = NULL,
           attempts = GREATEST(0, attempts - 1)
         WHERE status = 'running' AND lease_owner = $1`,
        [owner],
      );
      await db.query(`UPDATE jobs SET merge_owner = NULL, merge_lease_until = NULL WHERE merge_owner = $1`, [
        owner,
      ]);
    },

    async claimMerges() {
      const { rows } = await db.query<{ id: string }>(
        `UPDATE jobs j SET merge_owner = $1, merge_lease_until = now() + $2::interval
         WHERE j.status IN ('queued', 'running')
           AND (j.merge_lease_until IS NULL OR j.merge_lease_until < now())
           AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
           AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.job_id = j.id AND t.status IN ('pending', 'running'))
         RETURNING j.id::text AS id`,
        [owner, lease],
      );
      return rows.map((r) => r.id);
    },

    async renewMerge(jobId) {
      const { rowCount } = await db.query(
        `UPDATE jobs SET merge_lease_until = now() + $3::interval
         WHERE id = $1 AND merge_owner = $2 AND status IN ('queued', 'running')`,
        [jobId, owner, lease],
      );
      return rowCount > 0;
    },

    async finish(jobId, status, errorMessage) {
      const { rowCount } = await db.query(
        `UPDATE jobs SET status = $3, error_message = $4, finished_at = now(), merge_owner = NULL,
           merge_lease_until = NULL, version = version + 1,
           started_at = COALESCE(started_at, now())
         WHERE id = $1 AND merge_owner = $2 AND status IN ('queued', 'running')`,
        [jobId, owner, status, errorMessage],
      );
      return rowCount > 0;
    },

    async nextDue() {
      const { rows } = await db.query<{ due: Date | null }>(
        `SELECT min(GREATEST(t.not_before, COALESCE(j.scheduled_at, t.not_before))) AS due
         FROM tasks t JOIN jobs j ON j.id = t.job_id
         WHERE t.status = 'pending' AND j.status IN ('queued', 'running')`,
      );
      return rows[0]?.due ?? null;
    },
  };
}
