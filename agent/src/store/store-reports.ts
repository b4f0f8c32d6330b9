/**
 * Per-store state the catalogue keeps (walk state, disk figures, ingest meter) and the
 * {@link StoreReport} built from it and the catalogued files.
 */
import { resolve } from "node:path";
import type { Logger } from "@pcapfleet/core";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import type { DiskUsage } from "../health/disk-usage.js";
import { IngestMeter, rateFromSpan, retentionForecastHours, usableBytes } from "./availability.js";
import type { FileSet } from "./file-set.js";
import type { StoreIndexer } from "./store-indexer.js";
import type { StoreWalk } from "./store-walk.js";
import type { StoreReport, StoreState } from "./types.js";

/** What the catalogue keeps per store directory. */
export interface StoreSlot {
  readonly dir: string;
  state: StoreWalk["state"];
  error: string;
  /** Subdirectories that could not be listed. */
  problems: string[];
  disk: DiskUsage | undefined;
  readonly meter: IngestMeter;
  /** The capture's fill limit of the store's filesystem, in percent (undefined: none). */
  readonly maxDiskPercent: number | undefined;
}

/** A store not scanned yet; `maxDiskPercent` caps the space the forecast counts as usable. */
export function newSlot(dir: string, nowMs: number, maxDiskPercent?: number): StoreSlot {
  return {
    dir,
    state: "ok",
    error: "",
    problems: [],
    disk: undefined,
    meter: new IngestMeter(nowMs),
    maxDiskPercent,
  };
}

/** Takes a walk's outcome; logs when the store becomes missing or unreadable, and when it recovers. */
export function setSlotState(slot: StoreSlot, walk: StoreWalk, log: Logger): void {
  if (walk.state !== slot.state || walk.error !== slot.error) {
    if (walk.state === "ok") log.info({ store: slot.dir }, "store readable");
    else
      log.warn(
        { store: slot.dir, state: walk.state, reason: walk.error },
        "store not usable; retrying on rescan",
      );
  }
  slot.state = walk.state;
  slot.error = walk.error;
  slot.problems = walk.problems;
}

const NS = 1_000_000_000n;

/** The report of store `index`. */
export function buildReport(
  slot: StoreSlot,
  index: number,
  set: FileSet,
  indexer: StoreIndexer | undefined,
  nowMs: number,
): StoreReport {
  let oldest: bigint | undefined;
  let newest: bigint | undefined;
  let bytes = 0;
  let files = 0;
  for (const { file, store } of set.tracked.values()) {
    if (store !== index) continue;
    files++;
    bytes += file.size;
    const first =
      file.first === undefined ? undefined : BigInt(file.first.sec) * NS + BigInt(file.first.nsec);
    if (first !== undefined && (oldest === undefined || first < oldest)) oldest = first;
    const last = indexer?.newestNs(file.path) ?? first;
    if (last !== undefined && (newest === undefined || last > newest)) newest = last;
  }
  const corrupt: string[] = [];
  for (const [path, c] of set.corrupt) if (c.store === index) corrupt.push(`${path}: ${c.reason}`);
  const oldestPacketNs = oldest ?? 0n;
  const newestPacketNs = newest ?? 0n;
  const rate = slot.meter.rate(nowMs) ?? rateFromSpan(bytes, oldestPacketNs, newestPacketNs);
  let state: StoreState = slot.state;
  let error = slot.error;
  if (state === "ok" && (corrupt.length > 0 || slot.problems.length > 0)) {
    state = "degraded";
    const parts: string[] = [];
    if (corrupt.length > 0)
      parts.push(`${corrupt.length} corrupt file(s): ${corrupt.slice(0, 3).join("; ")}`);
    if (slot.problems.length > 0) parts.push(`unreadable: ${slot.problems.slice(0, 3).join("; ")}`);
    error = parts.join("; ");
  }
  return {
    path: slot.dir,
    state,
    error,
    disk: slot.disk,
    pcap: {
      oldestPacketNs,
      newestPacketNs,
      bytes,
      files,
      ingestBytesPerSecond: rate,
      retentionForecastHours: retentionForecastHours(
        bytes,
        usableBytes(slot.disk, slot.maxDiskPercent),
        rate,
        oldestPacketNs,
        newestPacketNs,
      ),
    },
    corruptFiles: corrupt.length,
  };
}

/**
 * The catalogue's `diskLimits` option validated (percent in (0, 100], else an `invalid_argument`
 * AppError) and keyed by resolved directory.
 */
export function diskLimitsOf(limits: ReadonlyMap<string, number> | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const [dir, percent] of limits ?? []) {
    if (!(Number.isFinite(percent) && percent > 0 && percent <= 100)) {
      throw new AppError(
        ErrorCode.InvalidArgument,
        `diskLimits for ${dir} must be a percent in (0, 100], not ${percent}`,
      );
    }
    out.set(resolve(dir), percent);
  }
  return out;
}
