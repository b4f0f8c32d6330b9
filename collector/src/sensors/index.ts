/**
 * Sensors as the collector sees them: the computed status and its thresholds, the offline
 * sweeper, and the read queries behind the REST endpoints.
 */
export {
  createSensorQueries,
  type DeviceInfo,
  type HealthSample,
  type HealthSummary,
  type LocationInfo,
  type SensorActivity,
  type SensorQueries,
  type SensorStatusDetail,
  type SensorSummary,
  type StatusCounts,
} from "./queries.js";
export {
  type CaptureTotals,
  type ComputedStatus,
  computeSensorStatus,
  dropPercent,
  SensorState,
  type StatusFacts,
  StatusReason,
  type StoreFacts,
  sensorStatusChannel,
  statusChanged,
} from "./status.js";
export { createOfflineSweeper, type OfflineSweeper, type OfflineSweeperOptions } from "./sweeper.js";
export { defaultSensorThresholds, type SensorThresholds, sensorThresholdsSchema } from "./thresholds.js";
