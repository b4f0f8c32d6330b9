/**
 * The per-capture-file index: a sparse time index (byte ranges of blocks of packets) and
 * posting lists of record offsets per IPv4/IPv6 address, port, IP protocol and VLAN id, so a
 * slice reads only the records that can match. Answers are supersets of what libpcap can
 * match; the exact filter still runs on every candidate.
 */
export { type BuildOptions, buildIndex, DEFAULT_BLOCK_PACKETS, DEFAULT_DENSE_DIVISOR } from "./build.js";
export { ALL_CANDIDATES, type Candidates } from "./candidates.js";
export { CaptureIndex, type FamilyStats, type IndexStats } from "./capture-index.js";
export { decodeIndex, encodeIndex, IndexFormatError } from "./codec.js";
export { checkFreshness, type Freshness } from "./identity.js";
export {
  ANY_VLAN,
  INDEX_VERSION,
  type IndexData,
  type IndexHeader,
  type KeyFamilies,
} from "./index-data.js";
export { asyncIndexFs, type IndexFs, type RandomAccess, syncIndexFs } from "./index-fs.js";
export { IndexView } from "./index-view.js";
export type { KeyFamily } from "./key-family.js";
export { extractKeys, isIndexableLinkType, type KeySink } from "./keys.js";
export {
  discardIndex,
  INDEX_SUFFIX,
  indexPathFor,
  loadIndex,
  openIndexView,
  refreshIndex,
  saveIndex,
} from "./store.js";
export type { BlockTable, ByteRange } from "./time-blocks.js";
