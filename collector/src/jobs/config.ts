import { z } from "zod";

/**
 * The job engine's settings, a fragment of the collector's configuration (`jobs:`). Every key
 * has a default, so `jobsConfigSchema.parse({})` is the documented behaviour.
 */
export const jobsConfigSchema = z
  .object({
    /** Tasks this collector streams at once, over all sensors. */
    maxRunningTasks: z.number().int().min(1).max(1000).default(16),
    /** Tasks running at once against one sensor, over all collectors. */
    perSensorTasks: z.number().int().min(1).max(64).default(2),
    /** Seconds a task or merge claim holds without renewal; another collector takes it after. */
    leaseS: z.number().min(1).max(3600).default(30),
    /** Milliseconds between lease renewals (and progress events) of running tasks. */
    renewMs: z.number().int().min(100).max(60_000).default(1000),
    /** Seconds without a message from the sensor after which a task is unresponsive (retried). */
    idleTimeoutS: z.number().min(1).max(86_400).default(60),
    /** Attempts of a task before a transient failure is final. */
    maxAttempts: z.number().int().min(1).max(100).default(5),
    /** Seconds before the first retry; doubled per attempt up to retryMaxS. */
    retryBaseS: z.number().min(0).max(3600).default(2),
    retryMaxS: z.number().min(0).max(86_400).default(120),
    /** Milliseconds between looks for work queued through other collectors. */
    pollMs: z.number().int().min(50).max(60_000).default(1000),
    /** Cap on a job's merged result when its body names none (bytes). */
    defaultMaxBytes: z
      .number()
      .int()
      .min(24)
      .default(4 * 1024 ** 3),
    /** Results older than this many days are deleted (their metadata stays). */
    resultRetentionDays: z.number().min(0).default(30),
    /** Oldest results are deleted while all results together exceed this many bytes. */
    resultMaxTotalBytes: z
      .number()
      .int()
      .min(0)
      .default(100 * 1024 ** 3),
    /** Minutes between retention runs. */
    retentionIntervalMinutes: z.number().min(0.01).max(1440).default(10),
  })
  .strict();

/** Validated job settings; see {@link jobsConfigSchema}. */
export type JobsConfig = Readonly<z.output<typeof jobsConfigSchema>>;
