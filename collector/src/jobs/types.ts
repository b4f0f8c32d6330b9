/**
 * The words of the job engine: job and task states, task error codes (DESIGN.md), and the JSON
 * a job is served as. Values are `as const` objects so the SQL CHECKs, the REST schema and the
 * gRPC enums all map from one list.
 */

/** Lifecycle of a job. */
export const JobStatus = {
  Queued: "queued",
  Running: "running",
  /** Every task delivered, or had no data. */
  Complete: "complete",
  /** Some tasks failed; the result holds what the others delivered. */
  Partial: "partial",
  /** No task delivered and at least one failed. */
  Failed: "failed",
  Cancelled: "cancelled",
} as const;
/** One of {@link JobStatus}. */
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

/** Lifecycle of one sensor's part of a job. */
export const TaskStatus = {
  Pending: "pending",
  Running: "running",
  Complete: "complete",
  NoData: "no_data",
  Failed: "failed",
  Cancelled: "cancelled",
} as const;
/** One of {@link TaskStatus}. */
export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];

/** Why a task did not deliver normally (DESIGN.md). */
export const TaskError = {
  NoDataInRange: "no_data_in_range",
  SensorOffline: "sensor_offline",
  FilterInvalid: "filter_invalid",
  SizeCapped: "size_capped",
  Timeout: "timeout",
  StorageIo: "storage_io",
  AgentError: "agent_error",
} as const;
/** One of {@link TaskError}. */
export type TaskError = (typeof TaskError)[keyof typeof TaskError];

/** Terminal job states: nothing moves after them. */
export const terminalJobStates: readonly JobStatus[] = ["complete", "partial", "failed", "cancelled"];
/** Terminal task states. */
export const terminalTaskStates: readonly TaskStatus[] = ["complete", "no_data", "failed", "cancelled"];

/** A job's merged result, as served. */
export interface JobResultView {
  readonly format: "pcap" | "pcapng";
  readonly packets: number;
  readonly bytes: number;
  readonly sha256: string;
  /** `max_bytes` cut the result short. */
  readonly truncated: boolean;
  readonly created_at: string;
  /** When retention deleted the file (metadata stays); null while it can be downloaded. */
  readonly expired_at: string | null;
}

/** One task, as served. */
export interface TaskView {
  readonly id: string;
  readonly sensor: string;
  readonly routed_by: string;
  readonly status: TaskStatus;
  readonly error_code: TaskError | null;
  readonly error_message: string | null;
  readonly attempts: number;
  /** Fraction done, 0 to 1 (received bytes over the agent's estimate while running). */
  readonly progress: number;
  readonly received_bytes: number;
  readonly packets: number;
  readonly bytes: number;
  readonly sha256: string | null;
  readonly truncated: boolean;
  readonly skipped_files: { path: string; reason: string; detail: string }[];
  readonly started_at: string | null;
  readonly finished_at: string | null;
}

/** A job, as served by `GET /jobs/{id}` (the list leaves `tasks` out). */
export interface JobView {
  readonly id: string;
  readonly owner: string;
  readonly description: string;
  readonly status: JobStatus;
  readonly start_time: string;
  readonly end_time: string;
  /** The body as submitted. */
  readonly spec: JobSpec;
  readonly effective_filter: string;
  readonly max_bytes: number;
  readonly scheduled_at: string | null;
  readonly created_at: string;
  readonly started_at: string | null;
  readonly finished_at: string | null;
  readonly error_message: string | null;
  /** Fraction done over all tasks. */
  readonly progress: number;
  /** Task counts by status. */
  readonly task_counts: Record<string, number>;
  readonly result: JobResultView | null;
  readonly tasks?: TaskView[];
}

/** The validated job body (`POST /jobs`), snake_case as submitted. */
export interface JobSpec {
  readonly start_time: string;
  readonly end_time: string;
  readonly src_ip?: string | undefined;
  readonly dst_ip?: string | undefined;
  readonly src_port?: number | undefined;
  readonly dst_port?: number | undefined;
  readonly protocol?: string | undefined;
  readonly filter?: string | undefined;
  readonly sensors?: string[] | undefined;
  readonly locations?: string[] | undefined;
  readonly description?: string | undefined;
  readonly max_bytes?: number | undefined;
  readonly scheduled_at?: string | undefined;
}
