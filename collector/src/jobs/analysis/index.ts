/**
 * Job analysis: one streaming pass over a job's merged packets (protocol hierarchy, talkers,
 * conversations, ports, DNS, TLS SNI, HTTP hosts, timeline), bounded in memory by `maxKeys`.
 */
export {
  type Analyser,
  type AnalysisOptions,
  createAnalyser,
  DEFAULT_MAX_KEYS,
  DEFAULT_TOP_N,
} from "./analyser.js";
export type {
  ConversationRow,
  DnsQueryRow,
  HttpHostRow,
  JobAnalysis,
  PortRow,
  ProtocolNode,
  TableName,
  TalkerRow,
  TimelineJson,
  TlsSniRow,
  TruncatedTable,
} from "./analysis-json.js";
export { type AnalyserCost, type AnalyserCostOptions, measureAnalyser } from "./throughput.js";
export { chooseBucketSeconds, MAX_BUCKETS } from "./timeline.js";
