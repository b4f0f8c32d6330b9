/**
 * Test support other packages' tests use (`@pcapfleet/agent/testing`): the collector-side
 * SensorIngest test double the daemon's heartbeats can be checked against.
 */
export {
  type CollectorDouble,
  captureLog,
  eventually,
  type ReceivedHeartbeat,
  rowKey,
  startCollectorDouble,
} from "./ingest/collector-double.js";
