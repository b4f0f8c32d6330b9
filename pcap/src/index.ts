/**
 * The pcapfleet PCAP engine, every folder: format (pcap/pcapng read and write), filter (libpcap
 * programs, JIT), plan (filter planning), index-file (per-file index), merge, query (catalogue,
 * index upkeep, slice), synth (traffic generation), decode, and the shared types. Loading all of
 * it costs ~30 ms on top of @pcapfleet/core, so CLIs import it when a command runs, not at start.
 */
export * from "./decode/index.js";
export * from "./filter/index.js";
export * from "./format/index.js";
export * from "./index-file/index.js";
export * from "./merge/index.js";
export * from "./plan/filter-terms.js";
export * from "./query/index.js";
export * from "./synth/index.js";
export * from "./types.js";
