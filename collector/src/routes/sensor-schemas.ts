import { z } from "@hono/zod-openapi";

/**
 * Request and response schemas of the sensor routes. Field names are those of the sensor
 * queries (`sensors/queries.ts`), which keep the seed's snake_case names; times are RFC 3339.
 */

/** Sensor names, as the ingest accepts them: a hostname-like word (they appear in URLs). */
export const sensorNamePattern = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,252}$/;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
const controlChars = /[\u0000-\u001f\u007f]/;

const iso = () => z.string().openapi({ format: "date-time", description: "RFC 3339" });
const isoOrNull = () => iso().nullable();

/** The three computed statuses. */
export const sensorStateSchema = z.enum(["online", "degraded", "offline"]).openapi("SensorState");

/** `{name}` path parameter of the per-sensor routes. */
export const sensorNameParams = z.strictObject({
  name: z
    .string()
    .max(253, "at most 253 characters")
    .regex(sensorNamePattern, "1-253 letters, digits or . _ : @ - starting with a letter or digit")
    .openapi({ param: { name: "name", in: "path" }, example: "sensor-01" }),
});

/** A location name as stored: 1-128 characters without control characters. */
export const locationNameSchema = z
  .string()
  .min(1)
  .max(128)
  .refine((value) => !controlChars.test(value), "must not contain control characters");

/** Query of `GET /sensors`. */
export const listSensorsQuery = z.strictObject({
  location: locationNameSchema.optional().openapi({ description: "Only sensors of this location" }),
  status: sensorStateSchema.optional().openapi({ description: "Only sensors with this status" }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(5000)
    .default(1000)
    .openapi({ description: "Sensors per page, 1-5000, default 1000" }),
  after: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .openapi({ description: "Next page: the `next_after` of the previous answer" }),
});

/** Query of `GET /sensors/activity`. */
export const activityQuery = z.strictObject({
  since: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ description: "Only changes at or after this time (RFC 3339)" }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(100)
    .openapi({ description: "1-1000, default 100" }),
});

/** A query string that must be empty (unknown keys are a 400 like everywhere else). */
export const noQuery = z.strictObject({});

/** One sensor as listed. */
export const sensorSummarySchema = z
  .object({
    name: z.string(),
    location: z.string(),
    status: sensorStateSchema,
    status_reasons: z.array(z.string()).openapi({ description: "`code: detail`, empty when online" }),
    status_changed_at: iso(),
    version: z.string(),
    hostname: z.string(),
    agent_address: z.string(),
    first_seen_at: iso(),
    last_heartbeat_at: iso(),
    heartbeat_interval_s: z.number(),
    cpu_percent: z.number().nullable(),
    memory_percent: z.number().nullable(),
    disk_used_percent: z.number().nullable(),
    pcap_bytes: z.number(),
    pcap_oldest_at: isoOrNull(),
    pcap_newest_at: isoOrNull(),
    retention_hours: z.number().nullable(),
  })
  .openapi("SensorSummary");

/** One sensor with its latest full report. */
export const sensorStatusSchema = sensorSummarySchema
  .extend({
    last_status: z.record(z.string(), z.unknown()).openapi({
      description: "The latest SensorStatus (identity, health, stores, devices, capture, busy_tasks)",
    }),
  })
  .openapi("SensorStatus");

/** One network interface of a sensor. */
export const deviceSchema = z
  .object({
    name: z.string(),
    state: z.string(),
    speed_mbps: z.number(),
    rx_bytes: z.number(),
    tx_bytes: z.number(),
    rx_packets: z.number(),
    tx_packets: z.number(),
    rx_dropped: z.number(),
    tx_dropped: z.number(),
    rx_errors: z.number(),
    tx_errors: z.number(),
    capturing: z.boolean(),
    updated_at: iso(),
  })
  .openapi("Device");

/** One status change. */
export const activitySchema = z
  .object({
    sensor: z.string(),
    location: z.string().nullable(),
    status: sensorStateSchema,
    previous_status: sensorStateSchema.nullable(),
    reasons: z.array(z.string()),
    changed_at: iso(),
  })
  .openapi("SensorActivity");

/** Sensors per status. */
export const statusCountsSchema = z.object({
  online: z.number().int(),
  degraded: z.number().int(),
  offline: z.number().int(),
});

/** One location with its sensors counted by status. */
export const locationSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    latitude: z.number().nullable(),
    longitude: z.number().nullable(),
    sensor_count: z.number().int(),
    sensors_by_status: statusCountsSchema,
  })
  .openapi("Location");

/** Fleet-wide figures of `queries.healthSummary()`. */
export const fleetSummarySchema = z.object({
  sensors: statusCountsSchema.extend({ total: z.number().int() }),
  locations: z.number().int(),
  pcap: z.object({ bytes: z.number(), oldest_at: isoOrNull(), newest_at: isoOrNull() }),
});
