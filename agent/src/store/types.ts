/**
 * The agent's live view of its ring directories: what the heartbeat, the capture service and
 * the retention code ask of the store catalogue.
 */
import type { Logger } from "@pcapfleet/core";
import type { CaptureFile } from "@pcapfleet/pcap/query";
import type { DiskUsage } from "../health/disk-usage.js";

/** Options of `createStoreCatalogue`. */
export interface StoreCatalogueOptions {
  /** Ring directories (config `stores`). */
  readonly dirs: readonly string[];
  /** Directory of indexes and summary watermarks; never inside a store. */
  readonly stateDir: string;
  /** Where the catalogue logs (corrupt files once, unreadable stores on change). */
  readonly log: Logger;
  /** IPv4 prefix length of subnet summaries. Default 24. */
  readonly prefixV4?: number;
  /** IPv6 prefix length of subnet summaries. Default 64. */
  readonly prefixV6?: number;
  /** A file unmodified this long is "closed": it no longer holds back summary minutes. Default 5000. */
  readonly quietMs?: number;
  /** Period of the full rescan that backs up inotify (and retries missing stores). Default 30000. */
  readonly rescanMs?: number;
  /** Clock (milliseconds since the epoch), for tests. Default Date.now. */
  readonly now?: () => number;
  /**
   * Usable-space caps per store directory (keys are resolved with `path.resolve`): when the
   * agent's own capture keeps a store's filesystem at most N% full (its `maxDiskPercent`), the
   * retention forecast counts only the space up to N% as usable, not all free space. Values in
   * (0, 100]; a store without an entry counts all free space.
   */
  readonly diskLimits?: ReadonlyMap<string, number>;
}

/** An indexing run in progress. */
export interface IndexingProgress {
  readonly startedAt: Date;
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

/** Health of one store directory. */
export type StoreState = "ok" | "degraded" | "unreadable" | "missing";

/** PCAP availability of one store. */
export interface StoreAvailability {
  /** First packet of the oldest file, ns since the epoch (0n when the store holds no packet). */
  readonly oldestPacketNs: bigint;
  /** Latest packet indexed (or seen in a file being written), ns since the epoch (0n: none yet). */
  readonly newestPacketNs: bigint;
  /** Bytes of capture files held. */
  readonly bytes: number;
  /** Capture files held. */
  readonly files: number;
  /** Capture bytes written per second over the last minutes (see `availability.ts`). */
  readonly ingestBytesPerSecond: number;
  /**
   * Hours of packets the filesystem holds at that rate, within the store's disk limit if it has
   * one (see `retentionForecastHours` and `usableBytes`).
   */
  readonly retentionForecastHours: number;
}

/** What the catalogue knows of one store directory. */
export interface StoreReport {
  readonly path: string;
  readonly state: StoreState;
  /** Why the state is not "ok"; empty when it is. */
  readonly error: string;
  /** The store's filesystem; undefined when it cannot be read. */
  readonly disk: DiskUsage | undefined;
  readonly pcap: StoreAvailability;
  /** Capture files that cannot be read (broken header or records), skipped. */
  readonly corruptFiles: number;
}

/**
 * Bytes and packets of one prefix in one minute of packet time, in one direction. Rows are
 * totals, not deltas: each is the full count of its (minute, prefix, direction) as far as the
 * agent knows, and replaces any earlier row of the same key (the collector stores them with
 * REPLACE semantics keyed by sensor, minute, prefix and direction). A record arriving after its
 * minute was emitted makes the agent emit the updated total of each key it touched; sending a
 * row twice is harmless.
 */
export interface SubnetTrafficRow {
  /** Start of the minute, ns since the epoch. */
  readonly minuteStartNs: bigint;
  /** "192.0.2.0/24", "2001:db8:1:2::/64". */
  readonly prefix: string;
  /** Whether the prefix was the packets' source or destination. */
  readonly direction: "src" | "dst";
  /** Sum of original (wire) lengths. */
  readonly bytes: number;
  readonly packets: number;
}

/** The live catalogue of the agent's stores; see `createStoreCatalogue`. */
export interface StoreCatalogue {
  /** First scan and watchers; resolves once the first catalogue is ready (indexing continues). */
  start(): Promise<void>;
  /**
   * Stops watchers and timers, aborts indexing and waits for it to stop. Idempotent. Minutes not
   * completed yet become available to `takeTraffic` as totals so far; records of them seen after
   * the next start re-emit their updated totals (the totals are persisted in the state dir).
   */
  close(): Promise<void>;
  /** Current capture files of all stores in merge order (as scanStores returns), growing ones included. */
  files(): readonly CaptureFile[];
  /** One report per store directory, in configuration order. */
  stores(): StoreReport[];
  /** Pins files against the agent's own retention; returns an idempotent release. Pins nest. */
  pin(paths: readonly string[]): () => void;
  /** True while at least one pin holds `path`. */
  isPinned(path: string): boolean;
  /** Progress of the indexing run in progress, undefined when none runs. */
  indexing(): IndexingProgress | undefined;
  /**
   * Summary rows not taken yet, oldest first (rows of completed minutes, and re-emitted totals of
   * keys late records changed); removes them. A later row for the same key replaces an earlier one.
   */
  takeTraffic(): SubnetTrafficRow[];
  /** Calls `listener` after the file set changed (debounced); returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}
