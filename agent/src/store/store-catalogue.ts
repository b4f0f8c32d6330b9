/**
 * The agent's live catalogue of its ring directories (issue #4, items 1, 4, 5, 9): files found by
 * content and kept current by inotify watches with a periodic full rescan as backstop, indexed
 * in the background one run at a time, with PCAP availability and subnet summaries per store.
 *
 * Timing: watch events are handled after a short debounce, except deletions of catalogued
 * files, which leave the catalogue synchronously in the event. A tick (half the quiet time,
 * between 50 ms and 2.5 s) starts an indexing run when a file is new or grew, emits completed
 * summary minutes and refreshes disk figures; file set changes notify listeners after a debounce.
 *
 * Summary rows are totals per (minute, prefix, direction) that replace earlier rows of the same
 * key (see `subnet-summary.ts`): a late record re-emits the updated totals of the keys it
 * touched, and the totals of recent minutes are saved with the watermarks after every indexing
 * run (see `summary-watermarks.ts`), so a restart continues them instead of starting from zero.
 */
import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { type FoundFile, MAX_STORE_DEPTH, type StoreListing, walkStoreDir } from "@pcapfleet/pcap/query";
import { diskUsage } from "../health/disk-usage.js";
import { DirWatchers } from "./dir-watchers.js";
import { FileSet } from "./file-set.js";
import { StoreIndexer } from "./store-indexer.js";
import { buildReport, diskLimitsOf, newSlot, type StoreSlot, setSlotState } from "./store-reports.js";
import { walkStore } from "./store-walk.js";
import { SubnetSummarizer } from "./subnet-summary.js";
import { SummaryWatermarks } from "./summary-watermarks.js";
import type { StoreCatalogue, StoreCatalogueOptions, SubnetTrafficRow } from "./types.js";

/** Watch events arriving within this window are handled together. */
const EVENT_DEBOUNCE_MS = 25;
/** Change listeners are called once per burst of file set changes. */
const CHANGE_DEBOUNCE_MS = 50;
/** Disk figures are refreshed at most this often (statfs is cheap, but not free). */
const DISK_REFRESH_MS = 5000;
/** Completed summary rows kept for `takeTraffic` at most; the oldest go first beyond it. */
const MAX_READY_ROWS = 200_000;

/** Creates the live catalogue of `options.dirs`; see the module comment and {@link StoreCatalogue}. */
export function createStoreCatalogue(options: StoreCatalogueOptions): StoreCatalogue {
  const log = options.log;
  const now = options.now ?? Date.now;
  const quietMs = options.quietMs ?? 5000;
  const rescanMs = options.rescanMs ?? 30_000;
  const prefixV4 = options.prefixV4 ?? 24;
  const prefixV6 = options.prefixV6 ?? 64;
  if (!(Number.isInteger(prefixV4) && prefixV4 >= 0 && prefixV4 <= 32)) {
    throw new AppError(ErrorCode.InvalidArgument, `prefixV4 must be an integer in 0..32, not ${prefixV4}`);
  }
  if (!(Number.isInteger(prefixV6) && prefixV6 >= 0 && prefixV6 <= 128)) {
    throw new AppError(ErrorCode.InvalidArgument, `prefixV6 must be an integer in 0..128, not ${prefixV6}`);
  }
  const tickMs = Math.min(2500, Math.max(50, Math.floor(quietMs / 2)));
  const limits = diskLimitsOf(options.diskLimits);
  const slots: StoreSlot[] = options.dirs.map((dir) => newSlot(dir, now(), limits.get(resolve(dir))));
  const set = new FileSet(log, (store, bytes) => slots[store]?.meter.add(bytes, now()));
  const summarizer = new SubnetSummarizer(prefixV4, prefixV6);
  const pins = new Map<string, number>();
  const listeners = new Set<() => void>();
  const pending = new Map<string, number>();
  const abort = new AbortController();
  const ready: SubnetTrafficRow[] = [];
  let watermarks: SummaryWatermarks | undefined;
  let indexer: StoreIndexer | undefined;
  let running: Promise<void> | undefined;
  let queue: Promise<void> = Promise.resolve();
  let started = false;
  let closed = false;
  let lastDisk = 0;
  let lastRunError = "";
  let droppedRows = false;
  let lateDropped = 0;
  const timers = {
    event: undefined as NodeJS.Timeout | undefined,
    change: undefined as NodeJS.Timeout | undefined,
  };
  let tickTimer: NodeJS.Timeout | undefined;
  let rescanTimer: NodeJS.Timeout | undefined;

  /** Runs `task` after the ones queued before it: scans and event handling never interleave. */
  const serial = (task: () => Promise<void>): Promise<void> => {
    queue = queue
      .then(task)
      .catch((error: unknown) => log.error({ err: error }, "store catalogue update failed"));
    return queue;
  };

  const changed = (): void => {
    if (closed || timers.change !== undefined) return;
    timers.change = setTimeout(() => {
      timers.change = undefined;
      for (const listener of [...listeners]) listener();
    }, CHANGE_DEBOUNCE_MS);
  };

  const storeOf = (path: string): number => {
    let best = -1;
    let bestLength = -1;
    slots.forEach((slot, i) => {
      if (path.startsWith(`${slot.dir}/`) && slot.dir.length > bestLength) {
        best = i;
        bestLength = slot.dir.length;
      }
    });
    return best;
  };

  const forget = (path: string): void => {
    if (set.drop(path)) changed();
    indexer?.forget(path);
  };

  const track = async (found: FoundFile, store: number): Promise<void> => {
    const change = await set.update(found, store, started);
    if (change === "set") changed();
  };

  const onEvent = (path: string, dirDepth: number): void => {
    if (closed) return;
    // A deleted capture leaves at once: retention and slices must not see it a moment longer.
    if ((set.tracked.has(path) || set.corrupt.has(path)) && !existsSync(path)) forget(path);
    pending.set(path, dirDepth);
    if (timers.event === undefined) {
      timers.event = setTimeout(() => {
        timers.event = undefined;
        void serial(handleEvents);
      }, EVENT_DEBOUNCE_MS);
    }
  };
  const watchers = new DirWatchers(onEvent, log);

  const handleEvents = async (): Promise<void> => {
    const paths = [...pending];
    pending.clear();
    for (const [path, dirDepth] of paths) {
      if (closed) return;
      const store = storeOf(path);
      const st = await stat(path, { bigint: true }).catch(() => undefined);
      if (st === undefined) {
        forget(path);
        for (const below of set.pathsUnder(path)) forget(below);
        watchers.dropTree(path);
      } else if (st.isDirectory()) {
        if (dirDepth >= MAX_STORE_DEPTH || store < 0) continue;
        // Unlistable subdirectories show up in the next rescan's report.
        const out: StoreListing = { dirs: [], files: [], skipped: [] };
        await walkStoreDir(path, dirDepth + 1, out, new Set());
        for (const dir of out.dirs) watchers.add(dir);
        for (const found of out.files) await track(found, store);
      } else if (st.isFile() && st.size >= 4n && store >= 0) {
        const found = { path, size: Number(st.size), mtimeMs: Number(st.mtimeMs), ino: st.ino, dev: st.dev };
        await track(found, store);
      }
    }
  };

  const rescan = async (): Promise<void> => {
    const allDirs = [];
    const present = new Set<string>();
    for (const [i, slot] of slots.entries()) {
      const walk = await walkStore(slot.dir);
      setSlotState(slot, walk, log);
      allDirs.push(...walk.dirs);
      for (const found of walk.files) {
        present.add(found.path);
        if (closed) return;
        await track(found, i);
      }
    }
    for (const path of set.retain(present, new Set(slots.keys()))) {
      indexer?.forget(path);
      changed();
    }
    if (!closed) watchers.reconcile(allDirs);
    await refreshDisk(true);
  };

  const refreshDisk = async (force: boolean): Promise<void> => {
    if (!force && now() - lastDisk < DISK_REFRESH_MS) return;
    lastDisk = now();
    for (const slot of slots) slot.disk = await diskUsage(slot.dir).catch(() => undefined);
  };

  /**
   * Summary totals no pending file can add to any more: changed keys of the minutes before every
   * unfinished file's frontier (new minutes, and held minutes that late records changed).
   */
  const emitMinutes = (): void => {
    const ix = indexer;
    if (ix === undefined) return;
    let limit = Number.POSITIVE_INFINITY;
    const t = now();
    for (const file of set.files()) {
      if (!ix.needsIndex(file) && t - file.mtimeMs >= quietMs) continue;
      let sec = ix.newestSec(file.path);
      if (sec < 0) sec = file.first?.sec ?? -1;
      if (sec >= 0) limit = Math.min(limit, Math.floor(sec / 60));
    }
    const rows = summarizer.take(limit);
    if (rows.length === 0) return;
    ready.push(...rows);
    if (ready.length > MAX_READY_ROWS) {
      ready.splice(0, ready.length - MAX_READY_ROWS);
      if (!droppedRows) log.warn({ kept: MAX_READY_ROWS }, "subnet summaries not taken; oldest dropped");
      droppedRows = true;
    }
  };

  const runIndexing = async (ix: StoreIndexer, marks: SummaryWatermarks): Promise<void> => {
    const files = set.files().filter((f) => ix.needsIndex(f));
    if (files.length === 0) return;
    try {
      const result = await ix.run(files, abort.signal);
      for (const skipped of result.corrupt) set.indexFailed(skipped.path, skipped.reason);
      lastRunError = "";
    } catch (error) {
      if (closed) return;
      const message = error instanceof Error ? error.message : String(error);
      // A state directory that cannot be written fails every run: say it once, until it recovers.
      if (message !== lastRunError) log.error({ err: error }, "indexing run failed");
      lastRunError = message;
    }
    marks.prune(set.files());
    await marks.save();
    emitMinutes();
    if (summarizer.lateDropped > lateDropped) {
      log.warn(
        { packets: summarizer.lateDropped - lateDropped, horizonMinute: summarizer.horizon },
        "late packets for summary minutes already forgotten were not summarised",
      );
      lateDropped = summarizer.lateDropped;
    }
  };

  const tick = (): void => {
    if (closed || indexer === undefined || watermarks === undefined) return;
    emitMinutes();
    void refreshDisk(false);
    if (running !== undefined) return;
    const ix = indexer;
    const marks = watermarks;
    running = runIndexing(ix, marks).finally(() => {
      running = undefined;
    });
  };

  return {
    async start() {
      if (started || closed) return;
      watermarks = await SummaryWatermarks.load(options.stateDir, log, summarizer);
      indexer = new StoreIndexer(options.stateDir, summarizer, watermarks);
      await serial(rescan);
      started = true;
      tickTimer = setInterval(tick, tickMs).unref();
      rescanTimer = setInterval(() => void serial(rescan), rescanMs).unref();
      tick();
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of [tickTimer, rescanTimer]) clearInterval(timer);
      clearTimeout(timers.event);
      clearTimeout(timers.change);
      watchers.close();
      abort.abort(new AppError(ErrorCode.Cancelled, "store catalogue closed"));
      await running;
      await queue;
      // Saved before the minutes still open are handed out: they stay marked "not emitted" on
      // disk, so the next start emits them again if the rows given out now are never sent (rows
      // are totals: sending one twice is harmless). Records arriving later for those minutes
      // are added to the saved totals, and their keys re-emitted as totals.
      await watermarks?.save();
      ready.push(...summarizer.take(Number.POSITIVE_INFINITY));
    },
    files: () => set.files(),
    stores: () => slots.map((slot, i) => buildReport(slot, i, set, indexer, now())),
    pin(paths) {
      const held = [...paths];
      for (const path of held) pins.set(path, (pins.get(path) ?? 0) + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        for (const path of held) {
          const count = (pins.get(path) ?? 0) - 1;
          if (count > 0) pins.set(path, count);
          else pins.delete(path);
        }
      };
    },
    isPinned: (path) => pins.has(path),
    indexing: () => indexer?.current(),
    takeTraffic: () => ready.splice(0, ready.length),
    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
