/**
 * Jobs and tasks in Postgres as the API reads and writes them: create a job with its tasks in
 * one transaction, read one job or a page of them as {@link JobView}s, cancel. The engine's
 * claims and state moves are in `queue.ts`.
 */
import { randomUUID } from "node:crypto";
import { AppError, ErrorCode } from "@pcapfleet/core";
import type { Db, Queryable } from "../db/index.js";
import {
  type JobResultView,
  type JobSpec,
  type JobStatus,
  type JobView,
  type TaskError,
  type TaskStatus,
  type TaskView,
  terminalJobStates,
} from "./types.js";

/** A row of `jobs`. */
export interface JobRow {
  id: string;
  owner: string;
  description: string;
  start_time: Date;
  end_time: Date;
  spec: JobSpec;
  effective_filter: string;
  max_bytes: number;
  scheduled_at: Date | null;
  status: JobStatus;
  error_message: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  version: number;
}

/** A row of `tasks`. */
export interface TaskRow {
  id: string;
  job_id: string;
  sensor: string;
  routed_by: string;
  status: TaskStatus;
  error_code: TaskError | null;
  error_message: string | null;
  attempts: number;
  received_bytes: number;
  expected_bytes: number;
  packets: number;
  bytes: number;
  sha256: string | null;
  truncated: boolean;
  skipped_files: { path: string; reason: string; detail: string }[];
  started_at: Date | null;
  finished_at: Date | null;
}

/** A row of `job_results`. */
export interface ResultRow {
  job_id: string;
  path: string;
  format: "pcap" | "pcapng";
  packets: number;
  bytes: number;
  sha256: string;
  truncated: boolean;
  analysis: unknown;
  created_at: Date;
  expired_at: Date | null;
}

/** A job to create: the validated spec and where it goes. */
export interface NewJob {
  readonly owner: string;
  readonly spec: JobSpec;
  readonly effectiveFilter: string;
  readonly maxBytes: number;
  /** Target sensors and why each was chosen. */
  readonly targets: readonly { sensor: string; routedBy: string }[];
}

/** Query of {@link JobStore.list}. */
export interface JobListQuery {
  readonly owner?: string | undefined;
  readonly status?: JobStatus | undefined;
  readonly limit: number;
  /** Jobs created before this one (the previous page's last id). */
  readonly before?: string | undefined;
}

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/** Fraction done of a task: received bytes over the agent's estimate until it ends. */
function taskProgress(row: Pick<TaskRow, "status" | "expected_bytes" | "received_bytes">): number {
  if (row.status !== "pending" && row.status !== "running") return 1;
  return row.expected_bytes > 0 ? Math.min(0.99, row.received_bytes / row.expected_bytes) : 0;
}

/** The served form of a task row. */
export function taskView(row: TaskRow): TaskView {
  const progress = taskProgress(row);
  return {
    id: row.id,
    sensor: row.sensor,
    routed_by: row.routed_by,
    status: row.status,
    error_code: row.error_code,
    error_message: row.error_message,
    attempts: row.attempts,
    progress,
    received_bytes: row.received_bytes,
    packets: row.packets,
    bytes: row.bytes,
    sha256: row.sha256,
    truncated: row.truncated,
    skipped_files: row.skipped_files,
    started_at: iso(row.started_at),
    finished_at: iso(row.finished_at),
  };
}

function resultView(row: ResultRow | undefined): JobResultView | null {
  if (row === undefined) return null;
  return {
    format: row.format,
    packets: row.packets,
    bytes: row.bytes,
    sha256: row.sha256,
    truncated: row.truncated,
    created_at: row.created_at.toISOString(),
    expired_at: iso(row.expired_at),
  };
}

/** The served form of a job from its rows. */
export function jobView(
  job: JobRow,
  tasks: readonly Pick<TaskRow, "status" | "expected_bytes" | "received_bytes">[],
  result: ResultRow | undefined,
): JobView {
  const counts: Record<string, number> = {};
  let progress = 0;
  for (const task of tasks) {
    counts[task.status] = (counts[task.status] ?? 0) + 1;
    progress += taskProgress(task);
  }
  const finished = terminalJobStates.includes(job.status);
  return {
    id: job.id,
    owner: job.owner,
    description: job.description,
    status: job.status,
    start_time: job.start_time.toISOString(),
    end_time: job.end_time.toISOString(),
    spec: job.spec,
    effective_filter: job.effective_filter,
    max_bytes: job.max_bytes,
    scheduled_at: iso(job.scheduled_at),
    created_at: job.created_at.toISOString(),
    started_at: iso(job.started_at),
    finished_at: iso(job.finished_at),
    error_message: job.error_message,
    progress: finished ? 1 : tasks.length === 0 ? 0 : progress / tasks.length,
    task_counts: counts,
    result: resultView(result),
  };
}

const jobFields = [
  "owner",
  "description",
  "start_time",
  "end_time",
  "spec",
  "effective_filter",
  "max_bytes",
  "scheduled_at",
  "status",
  "error_message",
  "created_at",
  "started_at",
  "finished_at",
  "version",
];
/** The columns of a {@link JobRow}, of table alias `a`. */
const jobColumnsOf = (a: string): string =>
  [`${a}.id::text AS id`, ...jobFields.map((f) => `${a}.${f}`)].join(", ");
const jobColumns = jobColumnsOf("jobs");
const taskColumns = `id::text, job_id::text, sensor, routed_by, status, error_code, error_message,
  attempts, received_bytes, expected_bytes, packets, bytes, sha256, truncated, skipped_files,
  started_at, finished_at`;
const resultColumns = `job_id::text, path, format, packets, bytes, sha256, truncated, analysis,
  created_at, expired_at`;

/** Reads and writes jobs for the API; see the module comment. */
export interface JobStore {
  /** Creates the job and one pending task per target; resolves to the job's id. */
  create(job: NewJob): Promise<string>;
  /** The job with its tasks; `not_found` when unknown. */
  get(id: string): Promise<JobView & { tasks: TaskView[] }>;
  /** The job's row only; `not_found` when unknown. */
  row(id: string, q?: Queryable): Promise<JobRow>;
  /** The job's tasks by sensor name. */
  tasks(jobId: string): Promise<TaskRow[]>;
  /** The result row, if the job has one. */
  result(jobId: string): Promise<ResultRow | undefined>;
  /**
   * The job and its result, for a download or its analysis: `conflict` while the job has no
   * result yet; with `file`, also `not_found` once retention deleted the file.
   */
  readyResult(jobId: string, file: boolean): Promise<{ job: JobRow; result: ResultRow }>;
  /** Newest first, without tasks; `next_before` names the next page. */
  list(query: JobListQuery): Promise<{ jobs: JobView[]; next_before: string | null }>;
  /**
   * Cancels a job that has not finished: the job and its unfinished tasks become `cancelled`.
   * Resolves to false when the job had already finished (nothing changed).
   */
  cancel(id: string, by: string): Promise<boolean>;
}

/** A job id as the API takes it: a UUID, else `not_found` (never a database cast error). */
export function checkJobId(id: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
    throw new AppError(ErrorCode.NotFound, `no job ${JSON.stringify(id.slice(0, 64))}`);
  }
  return id.toLowerCase();
}

/** Creates the {@link JobStore} over `db`. */
export function createJobStore(db: Db): JobStore {
  const row = async (id: string, q: Queryable = db): Promise<JobRow> => {
    const { rows } = await q.query<JobRow>(`SELECT ${jobColumns} FROM jobs WHERE id = $1`, [checkJobId(id)]);
    const job = rows[0];
    if (job === undefined) throw new AppError(ErrorCode.NotFound, `no job ${id}`);
    return job;
  };
  const tasks = async (jobId: string): Promise<TaskRow[]> =>
    (
      await db.query<TaskRow>(`SELECT ${taskColumns} FROM tasks WHERE job_id = $1 ORDER BY sensor`, [
        checkJobId(jobId),
      ])
    ).rows;
  const result = async (jobId: string): Promise<ResultRow | undefined> =>
    (
      await db.query<ResultRow>(`SELECT ${resultColumns} FROM job_results WHERE job_id = $1`, [
        checkJobId(jobId),
      ])
    ).rows[0];
  return {
    row,
    tasks,
    result,
    async readyResult(jobId, file) {
      const job = await row(jobId);
      const found = await result(job.id);
      if (found === undefined) {
        throw new AppError(ErrorCode.Conflict, `job ${job.id} is ${job.status}: it has no result yet`);
      }
      if (file && found.expired_at !== null) {
        throw new AppError(
          ErrorCode.NotFound,
          `the result of job ${job.id} was deleted by retention on ${found.expired_at.toISOString()}`,
        );
      }
      return { job, result: found };
    },
    async create(job) {
      const id = randomUUID();
      const spec = job.spec;
      await db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO jobs (id, owner, description, start_time, end_time, spec, effective_filter,
             max_bytes, scheduled_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [
            id,
            job.owner,
            spec.description ?? "",
            spec.start_time,
            spec.end_time,
            JSON.stringify(spec),
            job.effectiveFilter,
            job.maxBytes,
            spec.scheduled_at ?? null,
          ],
        );
        if (job.targets.length > 0) {
          await tx.query(
            `INSERT INTO tasks (id, job_id, sensor, routed_by, not_before)
             SELECT gen_random_uuid(), $1, t.sensor, t.routed_by, COALESCE($4::timestamptz, now())
             FROM unnest($2::text[], $3::text[]) AS t (sensor, routed_by)`,
            [
              id,
              job.targets.map((t) => t.sensor),
              job.targets.map((t) => t.routedBy),
              spec.scheduled_at ?? null,
            ],
          );
        }
      });
      return id;
    },
    async get(id) {
      const job = await row(id);
      const taskRows = await tasks(job.id);
      return { ...jobView(job, taskRows, await result(job.id)), tasks: taskRows.map(taskView) };
    },
    async list(query) {
      const params: unknown[] = [query.limit + 1];
      const where: string[] = [];
      if (query.owner !== undefined) {
        params.push(query.owner);
        where.push(`j.owner = $${params.length}`);
      }
      if (query.status !== undefined) {
        params.push(query.status);
        where.push(`j.status = $${params.length}`);
      }
      if (query.before !== undefined) {
        params.push(checkJobId(query.before));
        where.push(`(j.created_at, j.id) < (SELECT created_at, id FROM jobs WHERE id = $${params.length})`);
      }
      type TaskBrief = Pick<TaskRow, "status" | "expected_bytes" | "received_bytes">;
      const { rows } = await db.query<
        JobRow & { task_rows: TaskBrief[] | null; result_row: ResultRow | null }
      >(
        `SELECT ${jobColumnsOf("j")},
           (SELECT json_agg(json_build_object('status', t.status, 'expected_bytes', t.expected_bytes,
              'received_bytes', t.received_bytes)) FROM tasks t WHERE t.job_id = j.id) AS task_rows,
           (SELECT row_to_json(r) FROM job_results r WHERE r.job_id = j.id) AS result_row
         FROM jobs j ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY j.created_at DESC, j.id DESC LIMIT $1`,
        params,
      );
      const page = rows.slice(0, query.limit);
      const jobs = page.map((r) => {
        const taskRows = r.task_rows ?? [];
        const res = r.result_row ?? undefined;
        const resRow =
          res === undefined
            ? undefined
            : {
                ...res,
                created_at: new Date(res.created_at),
                expired_at: res.expired_at === null ? null : new Date(res.expired_at),
              };
        return jobView(r, taskRows, resRow);
      });
      const last = page.at(-1);
      return { jobs, next_before: rows.length > query.limit && last !== undefined ? last.id : null };
    },
    async cancel(id, by) {
      return db.transaction(async (tx) => {
        const job = await row(id, tx);
        const { rowCount } = await tx.query(
          `UPDATE jobs SET status = 'cancelled', finished_at = now(), version = version + 1,
             error_message = $2
           WHERE id = $1 AND status IN ('queued', 'running')`,
          [job.id, `cancelled by ${by}`],
        );
        if (rowCount === 0) return false;
        await tx.query(
          `UPDATE tasks SET status = 'cancelled', finished_at = now(), lease_owner = NULL,
             lease_until = NULL, error_message = COALESCE(error_message, $2)
           WHERE job_id = $1 AND status IN ('pending', 'running')`,
          [job.id, `cancelled by ${by}`],
        );
        return true;
      });
    },
  };
}
