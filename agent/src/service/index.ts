/** The agent's CaptureService (gRPC): status, estimates and streamed slices of its stores. */
export {
  type CaptureServiceDeps,
  createCaptureService,
  DEFAULT_CHUNK_BYTES,
  MAX_CHUNK_BYTES,
  MIN_CHUNK_BYTES,
} from "./capture-service.js";
export { type Estimate, estimateSlice, validateFilter } from "./estimate.js";
export { JOB_ID_METADATA, skipReason } from "./slice-call.js";
export { createSliceWorkers, type SliceWorkers, type SliceWorkersOptions } from "./slice-workers.js";
