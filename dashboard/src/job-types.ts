/**
 * The job API's JSON shapes (`/api/v1/jobs…`) as the job pages read them. The collector's
 * `jobs/types.ts`, `jobs/estimate.ts` and `jobs/analysis/analysis-json.ts` are the source; these
 * are kept to the fields the pages show. Times are RFC 3339 strings.
 */

/** Lifecycle of a job. */
export const JobStatus = {
  queued: "queued",
  running: "running",
  complete: "complete",
  partial: "partial",
  failed: "failed",
  cancelled: "cancelled",
} as const;

/** One of {@link JobStatus}'s values. */
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

/** Every job status, in lifecycle order (for the status filter). */
export const JOB_STATUSES: readonly JobStatus[] = Object.values(JobStatus);

/** Lifecycle of one sensor's part of a job. */
export type TaskStatus = "pending" | "running" | "complete" | "no_data" | "failed" | "cancelled";

/** Why a task did not deliver normally (DESIGN.md). */
export type TaskErrorCode =
  | "no_data_in_range"
  | "sensor_offline"
  | "filter_invalid"
  | "size_capped"
  | "timeout"
  | "storage_io"
  | "agent_error";

/** The body of `POST /jobs` and `POST /jobs/estimate`. */
export interface JobSpec {
  readonly start_time: string;
  readonly end_time: string;
  readonly src_ip?: string;
  readonly dst_ip?: string;
  readonly src_port?: number;
  readonly dst_port?: number;
  readonly protocol?: string;
  readonly filter?: string;
  readonly sensors?: readonly string[];
  readonly locations?: readonly string[];
  readonly description?: string;
  readonly max_bytes?: number;
  readonly scheduled_at?: string;
}

/** A job's merged result. */
export interface JobResult {
  readonly format: "pcap" | "pcapng";
  readonly packets: number;
  readonly bytes: number;
  readonly sha256: string;
  /** `max_bytes` cut the result short. */
  readonly truncated: boolean;
  readonly created_at: string;
  /** When retention deleted the file; null while it can be downloaded. */
  readonly expired_at: string | null;
}

/** One sensor's task. */
export interface TaskView {
  readonly id: string;
  readonly sensor: string;
  /** Why the job went to this sensor ("named in the job", "subnet map: …"). */
  readonly routed_by: string;
  readonly status: TaskStatus;
  readonly error_code: TaskErrorCode | null;
  readonly error_message: string | null;
  readonly attempts: number;
  /** Fraction done, 0 to 1. */
  readonly progress: number;
  readonly received_bytes: number;
  readonly packets: number;
  readonly bytes: number;
  readonly sha256: string | null;
  readonly truncated: boolean;
  readonly skipped_files: readonly {
    readonly path: string;
    readonly reason: string;
    readonly detail: string;
  }[];
  readonly started_at: string | null;
  readonly finished_at: string | null;
}

/** A job: a row of `GET /jobs`, or `GET /jobs/{id}` with its tasks. */
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
  /** Fraction done over all tasks, 0 to 1. */
  readonly progress: number;
  /** Task counts by task status. */
  readonly task_counts: Readonly<Record<string, number>>;
  readonly result: JobResult | null;
  readonly tasks?: readonly TaskView[];
}

/** `GET /jobs`. */
export interface JobPage {
  readonly jobs: readonly JobView[];
  /** `before` of the next (older) page; null on the last page. */
  readonly next_before: string | null;
}

/** How much of a window a sensor's ring holds. */
export type Coverage = "covered" | "partly_covered" | "aged_out" | "no_data" | "unknown";

/** One sensor of `POST /jobs/estimate`. */
export interface SensorEstimate {
  readonly sensor: string;
  readonly routed_by: string;
  readonly status: string;
  readonly coverage: Coverage;
  readonly oldest_packet_at: string | null;
  readonly newest_packet_at: string | null;
  /** From the agent's indexes; null when the agent could not be asked. */
  readonly packets: number | null;
  readonly bytes: number | null;
  /** True when the counts are exact, else an upper bound. */
  readonly exact: boolean;
  readonly note: string | null;
}

/** `POST /jobs/estimate`. */
export interface JobEstimate {
  readonly effective_filter: string;
  readonly total_packets: number;
  readonly total_bytes: number;
  readonly sensors: readonly SensorEstimate[];
}

/** One layer of the protocol hierarchy. */
export interface ProtocolNode {
  readonly name: string;
  readonly packets: number;
  readonly bytes: number;
  readonly children: readonly ProtocolNode[];
}

/** Packets and bytes per bucket over the job's window. */
export interface Timeline {
  readonly start: string;
  readonly end: string;
  readonly bucket_seconds: number;
  readonly packets: readonly number[];
  readonly bytes: readonly number[];
  readonly outside_window_packets: number;
}

/** A table that hit its key limit: counts are lower bounds. */
export interface TruncatedTable {
  readonly table: string;
  readonly ranked_by: string;
  readonly max_keys: number;
  readonly evicted_keys: number;
  readonly max_error: number;
}

/** `GET /jobs/{id}/analysis`. */
export interface JobAnalysis {
  readonly packets: number;
  readonly bytes: number;
  readonly first_packet_at: string | null;
  readonly last_packet_at: string | null;
  readonly decode_errors: number;
  readonly protocol_hierarchy: readonly ProtocolNode[];
  readonly top_talkers: readonly {
    readonly address: string;
    readonly packets: number;
    readonly bytes: number;
    readonly sent_bytes: number;
    readonly received_bytes: number;
  }[];
  readonly conversations: readonly {
    readonly address_a: string;
    readonly port_a: number | null;
    readonly address_b: string;
    readonly port_b: number | null;
    readonly protocol: string;
    readonly packets: number;
    readonly bytes: number;
    readonly a_to_b_bytes: number;
    readonly b_to_a_bytes: number;
    readonly first_seen: string;
    readonly last_seen: string;
  }[];
  readonly top_ports: readonly {
    readonly transport: string;
    readonly port: number;
    readonly packets: number;
    readonly bytes: number;
  }[];
  readonly dns_queries: readonly {
    readonly name: string;
    readonly type: string | null;
    readonly count: number;
  }[];
  readonly tls_sni: readonly { readonly server_name: string; readonly count: number }[];
  readonly http_hosts: readonly { readonly host: string; readonly count: number }[];
  readonly timeline: Timeline;
  readonly truncated_tables: readonly TruncatedTable[];
}

/** `job.progress` on the WebSocket: a job or one of its tasks moved. */
export interface JobProgressMessage {
  readonly type: "job.progress";
  readonly job_id: string;
  readonly status?: string;
  readonly task_id?: string;
  readonly sensor?: string;
  /** Bytes received and expected of a running task. */
  readonly received?: number;
  readonly expected?: number;
}
