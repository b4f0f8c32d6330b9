/**
 * What the collector pushes to dashboards over `GET /api/v1/ws`: sensor status changes and job
 * progress. Producers publish them on Kv channels (Redis pub/sub with several collectors, the
 * in-process bus otherwise), so a client connected to any collector sees every event.
 */
import { z } from "zod";

/** Kv channel of sensor status changes (published by ingest and the offline sweeper). */
export const SENSOR_STATUS_CHANNEL = "sensor-status";
/** Kv channel of job and task progress (published by the job engine). */
export const JOB_PROGRESS_CHANNEL = "job-progress";

/** A sensor's computed status changed. */
export const sensorStatusEvent = z.object({
  sensor: z.string(),
  status: z.string(),
  reasons: z.array(z.string()).default([]),
  at: z.string(),
});

/** A job (or one of its tasks) moved. Fields beyond the id are passed through as published. */
export const jobProgressEvent = z.looseObject({ job_id: z.string() });

/** One message on the WebSocket, as JSON. */
export type RealtimeEvent =
  | ({ type: "sensor.status" } & z.output<typeof sensorStatusEvent>)
  | ({ type: "job.progress" } & z.output<typeof jobProgressEvent>);

/** Channels the hub listens to and how each message becomes an event. */
export const realtimeChannels = [
  {
    channel: SENSOR_STATUS_CHANNEL,
    parse: (data: unknown): RealtimeEvent => ({ type: "sensor.status", ...sensorStatusEvent.parse(data) }),
  },
  {
    channel: JOB_PROGRESS_CHANNEL,
    parse: (data: unknown): RealtimeEvent => ({ type: "job.progress", ...jobProgressEvent.parse(data) }),
  },
] as const;
