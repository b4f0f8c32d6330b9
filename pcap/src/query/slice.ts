/**
 * The slice executor: the packets of a store that match a tcpdump filter in a time window, as
 * one capture. Its result equals `mergecap -w all <files>; tcpdump -r all -w out EXPR` followed by
 * keeping the packets with from <= ts < to: the same records, in the same order. It gets there
 * without merging everything first: each file is filtered on its own (reading only what its
 * index allows) and the per-file streams are merged by timestamp, ties going to the later file
 * as in mergecap. Files join the merge only when it reaches their first packet, so memory holds
 * the read buffers of the files that overlap in time, whatever the size of the store.
 *
 * One thread. A worker_threads version (workers scanning files ahead of the merge, batches of
 * matches transferred as ArrayBuffers, acknowledged for backpressure) was built and measured on
 * the 2-vCPU build machine and was slower in every case: 2.1 GB ring, selective filter 0.65 s
 * single-threaded vs 0.7-0.95 s with 1-2 workers; `tcp port 443` (1.2 M packets, 1.2 GB out)
 * 0.8-0.95 s vs 1.6-2.3 s. The scan runs at 3-4 GB/s from the page cache, so the ~150 ms a
 * worker takes to start (loading the engine) and the copy and hand-over of matches cost more
 * than a second thread wins; two CPU-bound threads there did not even get two cores' throughput.
 */
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import type { FilterCompiler } from "../filter/compile.js";
import type { TieBreak } from "../merge/time-heap.js";
import { planFilter } from "../plan/filter-terms.js";
import type { CaptureFile, SkippedFile } from "./catalogue.js";
import { restoreHeapHeadroom } from "./exit-headroom.js";
import { FileOpener } from "./file-opener.js";
import { consideredFiles, type SliceWindow } from "./plan.js";
import { SliceMerge, throwIfAborted } from "./slice-merge.js";
import { outputRules, planSliceOutput, type SliceTarget, SliceWriter } from "./slice-output.js";
import { compareInstant, END_OF_TIME, EPOCH, formatInstant, type Instant } from "./time.js";

/** Options of {@link sliceStore}. */
export interface SliceOptions {
  /** The store's capture files in merge order: `scanStores(...).files`. */
  readonly files: readonly CaptureFile[];
  /** Window start (inclusive). Default: the beginning. */
  readonly from?: Instant;
  /** Window end (exclusive). Default: no end. */
  readonly to?: Instant;
  /** tcpdump filter expression. Default: every packet. */
  readonly filter?: string;
  /** Directory of the per-file indexes (read only, never written by a slice). Default: no index use. */
  readonly stateDir?: string;
  /** Where the capture goes: a path (created or truncated), a Writable or a ByteSink. */
  readonly output: SliceTarget;
  /** For a Writable output: end it when done. Default true (pass false for process.stdout). */
  readonly endOutput?: boolean;
  /** Stop before the output would exceed this many bytes (headers included). */
  readonly maxBytes?: number;
  /** Stop after this many packets. */
  readonly maxPackets?: number;
  /** Cancels the slice: it rejects with a `cancelled` AppError. */
  readonly signal?: AbortSignal;
  /** Called now and then (at most every 100 ms) and once at the end. */
  readonly onProgress?: (progress: SliceProgress) => void;
  /** Order of packets with equal timestamps: "later-input" (default, as mergecap) or "earlier-input". */
  readonly tieBreak?: TieBreak;
  /**
   * Read the captures with synchronous reads on the calling thread. Much faster for indexed
   * selective slices (many small scattered reads), but a slow disk then blocks the event loop:
   * for CLIs and batch work. Default false (reads on the libuv thread pool).
   */
  readonly syncReads?: boolean;
  /**
   * Compiles the filter with libpcap. Default: the process-wide shared compiler (programs kept
   * in memory only); a CLI passes one with a disk cache (`createFilterCompiler({ cacheDir })`).
   */
  readonly filterCompiler?: FilterCompiler;
}

/** How far a slice got. */
export interface SliceProgress {
  /** Packets written so far. */
  readonly packets: number;
  /** Output bytes so far. */
  readonly bytes: number;
  /** Capture bytes read so far. */
  readonly bytesRead: number;
  /** Files finished (read to their end, or skipped) out of the files that may contribute. */
  readonly filesDone: number;
  readonly filesTotal: number;
}

/** What {@link sliceStore} did. */
export interface SliceResult {
  /** Packets written. */
  readonly packets: number;
  /** Size of the output in bytes. */
  readonly bytes: number;
  /** True when maxBytes or maxPackets stopped the slice before it was complete. */
  readonly truncated: boolean;
  /** Files ended early (corrupt, unreadable, filter unusable for their link type), with the reason. */
  readonly skipped: SkippedFile[];
  /** Files opened and read (wholly or in part). */
  readonly filesRead: number;
  /** Capture bytes read. */
  readonly bytesRead: number;
  /** Output format. */
  readonly format: "pcap" | "pcapng";
}

/**
 * Slices `files` into `output`; see the module comment for the exact semantics. A filter libpcap
 * rejects is a FilterError (`invalid_argument`, libpcap's message) before anything is written; a
 * window with from > to is `invalid_argument`. A corrupt or unreadable file never fails the slice:
 * it ends at the problem and is listed in {@link SliceResult.skipped}.
 */
export async function sliceStore(options: SliceOptions): Promise<SliceResult> {
  const window: SliceWindow = { from: options.from ?? EPOCH, to: options.to ?? END_OF_TIME };
  if (compareInstant(window.from, window.to) > 0) {
    throw new AppError(
      ErrorCode.InvalidArgument,
      `window start ${formatInstant(window.from)} is after its end ${formatInstant(window.to)}`,
    );
  }
  throwIfAborted(options.signal);
  const expression = options.filter ?? "";
  const files = consideredFiles(options.files, window);
  const outputPlan = planSliceOutput(files, options.files);
  const opener = new FileOpener({
    window,
    expression,
    filterPlan: planFilter(expression),
    stateDir: options.stateDir,
    rules: outputRules(outputPlan),
    syncReads: options.syncReads ?? false,
    filterCompiler: options.filterCompiler,
  });
  // Validates the expression even when no file is read: a bad filter is an error, not "no data".
  // libpcap compiles in a child process; the indexes are read meanwhile.
  let compiling = true;
  const compiled = opener.prepareFilters(files, outputPlan).finally(() => {
    compiling = false;
  });
  await Promise.allSettled([compiled, opener.planAhead(files, () => compiling)]);
  await compiled;
  const writer = await SliceWriter.open(options.output, outputPlan, {
    maxBytes: options.maxBytes ?? Number.POSITIVE_INFINITY,
    maxPackets: options.maxPackets ?? Number.POSITIVE_INFINITY,
    end: options.endOutput ?? true,
    // Synchronous reads keep the event loop busy: chained writes would wait for it (sink.ts).
    concurrentWrites: options.syncReads ?? false,
  });
  const merge = new SliceMerge(files, opener, writer, {
    tieBreak: options.tieBreak ?? "later-input",
    signal: options.signal ?? null,
    onProgress: options.onProgress ?? null,
  });
  let truncated = false;
  try {
    truncated = await merge.run();
    await writer.close();
  } finally {
    await writer.close().catch(() => undefined);
    await merge.closeAll();
    // A CLI process ends soon after: without this, Node 20 can deadlock at exit (exit-headroom.ts).
    if (options.syncReads === true) restoreHeapHeadroom();
  }
  merge.report();
  return {
    packets: writer.packets,
    bytes: writer.bytes,
    truncated,
    skipped: merge.skipped,
    filesRead: merge.filesRead,
    bytesRead: merge.bytesRead,
    format: outputPlan.format,
  };
}
