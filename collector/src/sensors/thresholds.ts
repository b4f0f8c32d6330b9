import { z } from "zod";

/**
 * Thresholds of the computed sensor status, a fragment of the collector's configuration (the
 * lead wires it in as `sensors: sensorThresholdsSchema.prefault({})`). Every key has a default,
 * so `sensorThresholdsSchema.parse({})` gives the documented behaviour.
 */
export const sensorThresholdsSchema = z
  .object({
    /** A store's filesystem fuller than this (%) makes the sensor degraded. */
    diskUsedPercent: z.number().min(0).max(100).default(90),
    /** Capture drops over this share of received packets (%) make it degraded. */
    dropPercent: z.number().min(0).max(100).default(1),
    /** No packet newer than this many seconds makes it degraded (the capture stalled). */
    noPacketsSeconds: z.number().int().positive().default(300),
    /** A retention forecast under this many hours makes it degraded. */
    retentionHours: z.number().min(0).default(24),
    /** Offline after this many heartbeat intervals without a heartbeat. */
    offlineAfterIntervals: z.number().int().min(1).default(3),
    /** Interval assumed until a sensor's real one has been observed (seconds). */
    defaultHeartbeatIntervalSeconds: z.number().positive().max(3600).default(10),
  })
  .strict();

/** Validated thresholds; see {@link sensorThresholdsSchema}. */
export type SensorThresholds = Readonly<z.output<typeof sensorThresholdsSchema>>;

/** The thresholds with every default. */
export const defaultSensorThresholds: SensorThresholds = Object.freeze(sensorThresholdsSchema.parse({}));
