/**
 * Queries over a store of capture files: the catalogue of a store, index upkeep, and the slice
 * executor (time window + tcpdump filter → one merged capture, as mergecap + tcpdump would give).
 */

// The CLI builds the slice's compiler (with a disk cache) from here, without loading the rest of the filters API.
export { createFilterCompiler, type FilterCompiler } from "../filter/compile.js";
export { type BatchSource, META_STRIDE } from "./batch-source.js";
export {
  type CaptureFile,
  type Catalogue,
  compareFiles,
  isCaptureMagic,
  probeCaptureFile,
  type SkippedFile,
  scanStores,
} from "./catalogue.js";
export { isFileFailure, reasonOf } from "./file-failure.js";
export { type CompiledFilter, effectiveSnaplen, type FilterKey, FilterSet } from "./filter-set.js";
export {
  type IndexedFile,
  type IndexStoresOptions,
  type IndexStoresResult,
  indexStores,
} from "./index-store.js";
export {
  COALESCE_GAP,
  candidateRuns,
  consideredFiles,
  type FileReadPlan,
  mayOverlap,
  planFromIndex,
  planIndexed,
  planScan,
  RangeKind,
  REORDER_SLACK_S,
  type ReadRange,
  type SliceWindow,
  SYNC_COALESCE_GAP,
  stopInstant,
} from "./plan.js";
export { type SliceOptions, type SliceProgress, type SliceResult, sliceStore } from "./slice.js";
export { planSliceOutput, type SliceOutputPlan, type SliceTarget } from "./slice-output.js";
export {
  type FoundDir,
  type FoundFile,
  MAX_STORE_DEPTH,
  type StoreListing,
  walkStoreDir,
} from "./store-walk.js";
export {
  addSeconds,
  compareInstant,
  END_OF_TIME,
  EPOCH,
  formatInstant,
  type Instant,
  parseInstant,
} from "./time.js";
