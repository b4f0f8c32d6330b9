/**
 * The agent's live store catalogue: ring directories watched and indexed, with PCAP
 * availability and subnet traffic summaries per store.
 */
export { INGEST_WINDOW_MS, MIN_HISTORY_MS, retentionForecastHours, usableBytes } from "./availability.js";
export { createStoreCatalogue } from "./store-catalogue.js";
export {
  DEFAULT_HISTORY_COUNTERS,
  DEFAULT_HISTORY_MINUTES,
  SubnetSummarizer,
  type SummaryLimits,
} from "./subnet-summary.js";
export { WATERMARK_FILE } from "./summary-watermarks.js";
export type {
  IndexingProgress,
  StoreAvailability,
  StoreCatalogue,
  StoreCatalogueOptions,
  StoreReport,
  StoreState,
  SubnetTrafficRow,
} from "./types.js";
