/**
 * The gRPC shapes of jobs and the REST ones, each way: a `JobSpec` message becomes the JSON body
 * `POST /jobs` takes (then validated by the same zod schema), and a {@link JobView} becomes a
 * `Job` message. Enum values map by word (`JOB_STATUS_PARTIAL` ⇄ `partial`), read from the
 * descriptors, so one list (types.ts) and the .proto stay the only places the words are written.
 */
import { create, type DescEnum, type MessageInitShape } from "@bufbuild/protobuf";
import { type Timestamp, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { AppError, ErrorCode } from "@pcapfleet/core";
import {
  type JobSchema,
  type JobSpec as JobSpecMessage,
  type JobSpecSchema,
  JobStatusSchema,
  TaskErrorSchema,
  type TaskSchema,
  TaskStatusSchema,
} from "@pcapfleet/proto";
import type { JobSpec, JobView, TaskView } from "../types.js";

/** The lower-case word of an enum value (`partial` for JOB_STATUS_PARTIAL); "unspecified" for unknown numbers. */
export function enumWord(schema: DescEnum, value: number): string {
  const name = schema.value[value]?.name.toLowerCase();
  if (name === undefined) return "unspecified";
  const prefix = schema.sharedPrefix?.toLowerCase() ?? "";
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

/** The number of the enum value named by `word` (see {@link enumWord}); 0 (unspecified) when none is. */
export function enumNumber(schema: DescEnum, word: string): number {
  return schema.values.find((value) => enumWord(schema, value.number) === word)?.number ?? 0;
}

const MIN_SECONDS = -62_135_596_800n; // 0001-01-01T00:00:00Z, the Timestamp's own range
const MAX_SECONDS = 253_402_300_799n; // 9999-12-31T23:59:59Z

/**
 * RFC 3339 text of a Timestamp, keeping every nanosecond (`2024-05-01T10:00:00.123456789Z`), so
 * a gRPC window is exactly the HTTP one. Out of range (or bad nanos) is `invalid_argument` naming
 * `field`, never a RangeError from Date.
 */
export function isoFromTimestamp(ts: Timestamp, field: string): string {
  if (ts.seconds < MIN_SECONDS || ts.seconds > MAX_SECONDS || ts.nanos < 0 || ts.nanos > 999_999_999) {
    throw new AppError(ErrorCode.InvalidArgument, `${field}: timestamp out of range`);
  }
  const whole = new Date(Number(ts.seconds) * 1000).toISOString().slice(0, 19);
  if (ts.nanos === 0) return `${whole}Z`;
  return `${whole}.${String(ts.nanos).padStart(9, "0").replace(/0+$/, "")}Z`;
}

/** The Timestamp of RFC 3339 text as the store writes it, keeping a fraction finer than ms. */
export function timestampFromIso(iso: string): Timestamp {
  const fraction = /\.(\d+)/.exec(iso)?.[1] ?? "";
  const ms = Date.parse(iso.replace(/\.\d+/, ""));
  return create(TimestampSchema, {
    seconds: BigInt(Math.floor(ms / 1000)),
    nanos: Number(fraction.padEnd(9, "0").slice(0, 9)),
  });
}

const optionalTimestamp = (iso: string | null | undefined): Timestamp | undefined =>
  iso === null || iso === undefined ? undefined : timestampFromIso(iso);

/**
 * The `POST /jobs` body of a `JobSpec` message: unset and zero fields are left out, as a JSON
 * client would leave them out, so `jobSpecSchema` applies the same defaults and rules.
 */
export function specBodyFromProto(spec: JobSpecMessage | undefined): Record<string, unknown> {
  if (spec === undefined) throw new AppError(ErrorCode.InvalidArgument, "spec is required");
  if (spec.startTime === undefined) throw new AppError(ErrorCode.InvalidArgument, "start_time is required");
  if (spec.endTime === undefined) throw new AppError(ErrorCode.InvalidArgument, "end_time is required");
  const body: Record<string, unknown> = {
    start_time: isoFromTimestamp(spec.startTime, "start_time"),
    end_time: isoFromTimestamp(spec.endTime, "end_time"),
  };
  const text = { src_ip: spec.srcIp, dst_ip: spec.dstIp, protocol: spec.protocol, filter: spec.filter };
  for (const [key, value] of Object.entries(text)) if (value !== "") body[key] = value;
  if (spec.description !== "") body["description"] = spec.description;
  if (spec.srcPort !== 0) body["src_port"] = spec.srcPort;
  if (spec.dstPort !== 0) body["dst_port"] = spec.dstPort;
  if (spec.sensors.length > 0) body["sensors"] = [...spec.sensors];
  if (spec.locations.length > 0) body["locations"] = [...spec.locations];
  // Above 2^53 the number is inexact, but the schema's limit (2^50) rejects it either way.
  if (spec.maxBytes !== 0n) body["max_bytes"] = Number(spec.maxBytes);
  if (spec.scheduledAt !== undefined)
    body["scheduled_at"] = isoFromTimestamp(spec.scheduledAt, "scheduled_at");
  return body;
}

/** The `JobSpec` message of a stored body. */
export function specToProto(spec: JobSpec): MessageInitShape<typeof JobSpecSchema> {
  return {
    startTime: timestampFromIso(spec.start_time),
    endTime: timestampFromIso(spec.end_time),
    srcIp: spec.src_ip ?? "",
    dstIp: spec.dst_ip ?? "",
    srcPort: spec.src_port ?? 0,
    dstPort: spec.dst_port ?? 0,
    protocol: spec.protocol ?? "",
    filter: spec.filter ?? "",
    sensors: spec.sensors ?? [],
    locations: spec.locations ?? [],
    description: spec.description ?? "",
    maxBytes: BigInt(spec.max_bytes ?? 0),
    scheduledAt: optionalTimestamp(spec.scheduled_at),
  };
}

/** The `Task` message of a served task. */
export function taskToProto(task: TaskView): MessageInitShape<typeof TaskSchema> {
  return {
    id: task.id,
    sensor: task.sensor,
    status: enumNumber(TaskStatusSchema, task.status),
    error: task.error_code === null ? 0 : enumNumber(TaskErrorSchema, task.error_code),
    errorMessage: task.error_message ?? "",
    progress: task.progress,
    packets: BigInt(task.packets),
    bytes: BigInt(task.bytes),
    startedAt: optionalTimestamp(task.started_at),
    finishedAt: optionalTimestamp(task.finished_at),
    attempts: task.attempts,
    truncated: task.truncated,
  };
}

/** The `Job` message of a served job; its tasks when the view has them (the list leaves them out). */
export function jobToProto(job: JobView): MessageInitShape<typeof JobSchema> {
  return {
    id: job.id,
    spec: specToProto(job.spec),
    status: enumNumber(JobStatusSchema, job.status),
    owner: job.owner,
    createdAt: timestampFromIso(job.created_at),
    startedAt: optionalTimestamp(job.started_at),
    finishedAt: optionalTimestamp(job.finished_at),
    tasks: (job.tasks ?? []).map(taskToProto),
    progress: job.progress,
    packets: BigInt(job.result?.packets ?? 0),
    bytes: BigInt(job.result?.bytes ?? 0),
    errorMessage: job.error_message ?? "",
    effectiveFilter: job.effective_filter,
    sha256: job.result?.sha256 ?? "",
    truncated: job.result?.truncated ?? false,
    resultExpiredAt: optionalTimestamp(job.result?.expired_at),
  };
}
