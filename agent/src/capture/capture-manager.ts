/**
 * The agent's own capture (issue #4, ADR 0013): one supervised tcpdump writer per configured
 * interface, each filling its ring directory, with retention and statistics. Without tcpdump the
 * manager says why capture is unavailable and the agent keeps serving its stores.
 */
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import type { Logger } from "pino";
import { diskUsage } from "../health/disk-usage.js";
import type { CaptureConfig } from "./capture-config.js";
import {
  type CaptureStatsRow,
  type CaptureTiming,
  type CaptureWriter,
  createCaptureWriter,
} from "./capture-writer.js";
import type { DiskPercentProbe, RetentionResult } from "./retention.js";
import { tcpdumpVersion } from "./tcpdump-process.js";

/** Dependencies of {@link createCaptureManager}. */
export interface CaptureManagerDeps {
  readonly captures: readonly CaptureConfig[];
  /** Whether a running slice needs this file (retention keeps it). */
  readonly isPinned: (path: string) => boolean;
  readonly log: Logger;
  /** Clock in epoch milliseconds (file ages, idle rotation). Default `Date.now`. */
  readonly now?: () => number;
  /** tcpdump binary; default `tcpdump` from PATH. */
  readonly tcpdumpPath?: string;
  /** Filesystem use of a ring directory in percent; default statfs (what df shows). */
  readonly diskPercent?: DiskPercentProbe;
  /** Timers; defaults suit production. */
  readonly timing?: Partial<CaptureTiming>;
}

/** The agent's own capture. */
export interface CaptureManager {
  /** Starts one writer per capture; resolves once each listens or has failed (failures are in stats()). */
  start(): Promise<void>;
  /** Stops every writer; their last packets are flushed and the current files closed. */
  stop(): Promise<void>;
  /** Counters and state per capture, in configuration order. */
  stats(): CaptureStatsRow[];
  /** Asks every writer for fresh counters, then returns stats(). */
  refreshStats(): Promise<CaptureStatsRow[]>;
  /** Interfaces the agent captures on (empty when capture is unavailable). */
  capturingInterfaces(): string[];
  /** Why own capture cannot run on this host; undefined when it can (or before start). */
  unavailableReason(): string | undefined;
  /** Runs retention of every ring now (it also runs on a timer and after each rotation). */
  retain(): Promise<RetentionResult[]>;
}

const defaultTiming: CaptureTiming = {
  backoffInitialMs: 1000,
  backoffMaxMs: 60_000,
  stableMs: 60_000,
  statsIntervalMs: 5000,
  retentionIntervalMs: 10_000,
  stopTimeoutMs: 5000,
  drainTimeoutMs: 3000,
};

const diskPercentOf: DiskPercentProbe = async (dir) => (await diskUsage(dir)).usedPercent;

/** Creates the capture manager; nothing runs before start(). */
export function createCaptureManager(deps: CaptureManagerDeps): CaptureManager {
  const timing: CaptureTiming = { ...defaultTiming, ...deps.timing };
  const tcpdump = deps.tcpdumpPath ?? "tcpdump";
  const now = deps.now ?? Date.now;
  let writers: CaptureWriter[] = [];
  let unavailable: string | undefined;

  const idleRow = (config: CaptureConfig): CaptureStatsRow => ({
    interface: config.interface,
    packetsReceived: 0,
    packetsDroppedKernel: 0,
    packetsDroppedInterface: 0,
    packetsWritten: 0,
    bytesWritten: 0,
    filesWritten: 0,
    running: false,
    error: unavailable ?? "",
  });

  const stats = (): CaptureStatsRow[] =>
    writers.length === 0 ? deps.captures.map(idleRow) : writers.map((writer) => writer.stats());

  return {
    async start() {
      if (deps.captures.length === 0 || writers.length > 0) return;
      const probe = await tcpdumpVersion(tcpdump);
      if ("reason" in probe) {
        unavailable = probe.reason;
        deps.log.warn({ tcpdump }, unavailable);
        return;
      }
      deps.log.info({ tcpdump: probe.version, captures: deps.captures.length }, "own capture starting");
      for (const config of deps.captures) {
        // A directory that cannot be made fails its writer, which reports it; the others start.
        await mkdir(resolve(config.dir), { recursive: true }).catch(() => undefined);
      }
      writers = deps.captures.map((config) =>
        createCaptureWriter({
          config,
          tcpdump,
          isPinned: deps.isPinned,
          diskPercent: deps.diskPercent ?? diskPercentOf,
          now,
          log: deps.log.child({ interface: config.interface }),
          timing,
        }),
      );
      await Promise.all(writers.map((writer) => writer.start()));
    },
    async stop() {
      await Promise.all(writers.map((writer) => writer.stop()));
    },
    stats,
    async refreshStats() {
      await Promise.all(writers.map((writer) => writer.refreshStats()));
      return stats();
    },
    capturingInterfaces() {
      return unavailable === undefined ? deps.captures.map((config) => config.interface) : [];
    },
    unavailableReason() {
      return unavailable;
    },
    retain() {
      return Promise.all(writers.map((writer) => writer.retain()));
    },
  };
}

export type { CaptureStatsRow, CaptureTiming } from "./capture-writer.js";
