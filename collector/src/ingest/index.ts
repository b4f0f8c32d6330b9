/**
 * The collector's SensorIngest service: agents' heartbeats, checked, batched and stored, with
 * the computed status recorded and published.
 */
export { type Batcher, type BatcherOptions, createBatcher, type Settled } from "./batcher.js";
export { type HeartbeatRecord, toHeartbeatRecord } from "./heartbeat.js";
export {
  createIngestService,
  type IngestBatchOptions,
  type IngestService,
  type IngestServiceOptions,
  type IngestStats,
  sensorStatusChannel,
} from "./service.js";
export { type JsonObject, type JsonValue, sensorStatusJson } from "./status-json.js";
export {
  createIngestMemo,
  type IngestMemo,
  type ReceivedHeartbeat,
  rememberWrite,
  type StatusChange,
  type WriteResult,
  type WrittenDevices,
  writeHeartbeats,
} from "./writer.js";
