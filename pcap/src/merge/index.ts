/**
 * Merging captures: a streaming k-way merge by timestamp that matches mergecap's packet order,
 * with byte/packet caps, cancellation and a per-packet observer for analysis.
 */
export {
  type MergeOptions,
  type MergeResult,
  type MergeSkip,
  type MergeSource,
  mergeCaptures,
} from "./merge-captures.js";
export { type OutputPlan, planOutput } from "./merge-io.js";
export type { PacketObserver } from "./merge-run.js";
export type { TieBreak } from "./time-heap.js";
