import { z } from "@hono/zod-openapi";
import { jobSpecSchema } from "./spec.js";
import { JobStatus, TaskError, TaskStatus } from "./types.js";

/**
 * Response and parameter schemas of the job routes (the request body is `spec.ts`). They
 * describe what `job-store.ts` serves, for the OpenAPI document.
 */

const iso = () => z.string().openapi({ format: "date-time" });
const isoOrNull = () => iso().nullable();

export const jobStatusSchema = z
  .enum(Object.values(JobStatus) as [JobStatus, ...JobStatus[]])
  .openapi("JobStatus");
export const taskStatusSchema = z
  .enum(Object.values(TaskStatus) as [TaskStatus, ...TaskStatus[]])
  .openapi("TaskStatus");
export const taskErrorSchema = z
  .enum(Object.values(TaskError) as [TaskError, ...TaskError[]])
  .openapi("TaskError");

/** `{id}` of the job routes. */
export const jobIdParams = z.strictObject({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, format: "uuid" }),
});

/** `{id}/{task}` of the per-task download. */
export const taskIdParams = z.strictObject({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, format: "uuid" }),
  task: z
    .string()
    .max(64)
    .openapi({ param: { name: "task", in: "path" }, format: "uuid" }),
});

export const taskSchema = z
  .object({
    id: z.string(),
    sensor: z.string(),
    routed_by: z.string(),
    status: taskStatusSchema,
    error_code: taskErrorSchema.nullable(),
    error_message: z.string().nullable(),
    attempts: z.number().int(),
    progress: z.number(),
    received_bytes: z.number().int(),
    packets: z.number().int(),
    bytes: z.number().int(),
    sha256: z.string().nullable(),
    truncated: z.boolean(),
    skipped_files: z.array(z.object({ path: z.string(), reason: z.string(), detail: z.string() })),
    started_at: isoOrNull(),
    finished_at: isoOrNull(),
  })
  .openapi("Task");

export const jobSchema = z
  .object({
    id: z.string(),
    owner: z.string(),
    description: z.string(),
    status: jobStatusSchema,
    start_time: iso(),
    end_time: iso(),
    spec: jobSpecSchema,
    effective_filter: z.string(),
    max_bytes: z.number().int(),
    scheduled_at: isoOrNull(),
    created_at: iso(),
    started_at: isoOrNull(),
    finished_at: isoOrNull(),
    error_message: z.string().nullable(),
    progress: z.number(),
    task_counts: z.record(z.string(), z.number().int()),
    result: z
      .object({
        format: z.enum(["pcap", "pcapng"]),
        packets: z.number().int(),
        bytes: z.number().int(),
        sha256: z.string(),
        truncated: z.boolean(),
        created_at: iso(),
        expired_at: isoOrNull(),
      })
      .nullable(),
    tasks: z.array(taskSchema).optional(),
  })
  .openapi("Job");

/** Query of `GET /jobs`. */
export const listJobsQuery = z.strictObject({
  status: jobStatusSchema.optional(),
  owner: z.string().min(1).max(128).optional().openapi({ description: "Only this user's jobs" }),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z
    .string()
    .max(64)
    .optional()
    .openapi({ description: "Next page: `next_before` of the last answer" }),
});

export const estimateSchema = z
  .object({
    effective_filter: z.string(),
    total_packets: z.number().int(),
    total_bytes: z.number().int(),
    sensors: z.array(
      z.object({
        sensor: z.string(),
        routed_by: z.string(),
        status: z.string(),
        coverage: z.enum(["covered", "partly_covered", "aged_out", "no_data", "unknown"]),
        oldest_packet_at: isoOrNull(),
        newest_packet_at: isoOrNull(),
        packets: z.number().int().nullable(),
        bytes: z.number().int().nullable(),
        exact: z.boolean(),
        note: z.string().nullable(),
      }),
    ),
  })
  .openapi("JobEstimate");

/** A PCAP download in the OpenAPI document. */
export const pcapResponse = (description: string) =>
  ({
    description,
    content: {
      "application/vnd.tcpdump.pcap": { schema: z.string().openapi({ format: "binary" }) },
    },
  }) as const;
