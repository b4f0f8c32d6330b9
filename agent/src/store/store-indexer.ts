/**
 * Indexing runs of the live catalogue: one pass over the files that are new or grew, feeding the
 * subnet summariser from the same pass (behind the per-file watermark), and tracking per file how
 * far it is indexed and its newest packet, which availability and the completion of summary
 * minutes need. The per-file loop is the engine's `indexStores` (load, build or extend, save),
 * written out here for two things it does not offer yet: a smaller read size, so the event loop
 * is never held long, and cancellation inside a file.
 */
import { stat } from "node:fs/promises";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import {
  buildIndex,
  type CaptureIndex,
  loadIndex,
  type PacketRecord,
  PcapFormatError,
  saveIndex,
} from "@pcapfleet/pcap";
import type { CaptureFile, SkippedFile } from "@pcapfleet/pcap/query";
import { reasonOf } from "./file-probe.js";
import type { SubnetSummarizer } from "./subnet-summary.js";
import type { SummaryWatermarks, Watermark } from "./summary-watermarks.js";
import type { IndexingProgress } from "./types.js";

/**
 * Read size of index builds. Each chunk is scanned synchronously; 512 KiB keeps that under
 * ~15 ms (the engine's 4 MiB default blocked the event loop 30-200 ms per chunk in measurements,
 * and was slower: 4 MiB no longer fits the caches the scan works in).
 */
const INDEX_CHUNK = 512 * 1024;

/** What the indexer knows of one file. */
interface FileProgress {
  ino: bigint;
  dev: bigint;
  /** Size of the file when it was last indexed (-1: never). */
  indexedSize: number;
  /** Newest packet seen (from records or the index header); -1 while unknown. */
  newestSec: number;
  newestNsec: number;
}

/** A run's outcome. */
export interface IndexRunResult {
  /** Files that could not be indexed and still exist: corrupt or unreadable. */
  readonly corrupt: SkippedFile[];
}

/** See the module comment. */
export class StoreIndexer {
  private readonly files = new Map<string, FileProgress>();
  private progress: IndexingProgress | undefined;
  /** Stand-in before the first file of a run (never written through: onRecord runs per file). */
  private readonly placeholder: FileProgress = {
    ino: 0n,
    dev: 0n,
    indexedSize: -1,
    newestSec: -1,
    newestNsec: 0,
  };
  /** Progress within the file being indexed: its base offset and the last record offset. */
  private currentBase = 0;
  private currentOffset = 0;

  constructor(
    private readonly stateDir: string,
    private readonly summarizer: SubnetSummarizer,
    private readonly watermarks: SummaryWatermarks,
  ) {}

  /** True when `file` has bytes not indexed yet (new, grown, or replaced). */
  needsIndex(file: CaptureFile): boolean {
    const p = this.files.get(file.path);
    return p === undefined || p.ino !== file.ino || p.dev !== file.dev || p.indexedSize !== file.size;
  }

  /** Newest packet of `path` in ns since the epoch, undefined while unknown. */
  newestNs(path: string): bigint | undefined {
    const p = this.files.get(path);
    if (p === undefined || p.newestSec < 0) return undefined;
    return BigInt(p.newestSec) * 1_000_000_000n + BigInt(p.newestNsec);
  }

  /** Newest packet second of `path`, -1 while unknown. */
  newestSec(path: string): number {
    return this.files.get(path)?.newestSec ?? -1;
  }

  /** Forgets a file that left the catalogue. */
  forget(path: string): void {
    this.files.delete(path);
  }

  /** The run in progress, with bytes done inside the current file. */
  current(): IndexingProgress | undefined {
    const p = this.progress;
    if (p === undefined) return undefined;
    return {
      ...p,
      bytesDone: Math.min(p.bytesTotal, p.bytesDone + Math.max(0, this.currentOffset - this.currentBase)),
    };
  }

  /**
   * Indexes `files` (merge order) and summarises their new records. Rejects with a `cancelled`
   * AppError when `signal` aborts (checked per record, so a large file stops at once), and with
   * the error of a state directory that cannot be written.
   */
  async run(files: readonly CaptureFile[], signal: AbortSignal): Promise<IndexRunResult> {
    let bytesTotal = 0;
    const work = files.map((file) => {
      const p = this.stateOf(file);
      const bytes = p.indexedSize < 0 || p.indexedSize > file.size ? file.size : file.size - p.indexedSize;
      bytesTotal += bytes;
      return bytes;
    });
    this.progress = {
      startedAt: new Date(),
      filesDone: 0,
      filesTotal: files.length,
      bytesDone: 0,
      bytesTotal,
    };
    const corrupt: SkippedFile[] = [];
    const summarizer = this.summarizer;
    let mark: Watermark = { end: 0, first: "" };
    let state: FileProgress = this.placeholder;
    let first = true;
    const onRecord = (rec: PacketRecord): void => {
      if (signal.aborted) throw cancelled(signal);
      if (first) {
        first = false;
        this.currentBase = rec.fileOffset;
      }
      if (rec.tsSec > state.newestSec || (rec.tsSec === state.newestSec && rec.tsNsec > state.newestNsec)) {
        state.newestSec = rec.tsSec;
        state.newestNsec = rec.tsNsec;
      }
      this.currentOffset = rec.fileOffset;
      // Records counted before (an index rebuilt after the state was wiped) are not counted again.
      if (rec.fileOffset < mark.end) return;
      mark.end = rec.fileOffset + rec.recordLength;
      summarizer.add(rec);
    };
    try {
      for (const [i, file] of files.entries()) {
        if (signal.aborted) throw cancelled(signal);
        mark = this.watermarks.entryFor(file);
        state = this.stateOf(file);
        first = true;
        this.currentBase = 0;
        this.currentOffset = 0;
        const failure = await this.indexOne(file, state, onRecord);
        if (failure !== undefined && (await stat(file.path).catch(() => undefined)) !== undefined) {
          // A file rotated away during the run is no failure.
          corrupt.push({ path: file.path, reason: failure });
        }
        const progress = this.progress as IndexingProgress;
        this.progress = {
          ...progress,
          filesDone: progress.filesDone + 1,
          bytesDone: progress.bytesDone + (work[i] as number),
        };
        this.currentBase = 0;
        this.currentOffset = 0;
        // Let timers and I/O callbacks in between files, whatever the reads did.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      return { corrupt };
    } finally {
      this.progress = undefined;
    }
  }

  /** Builds or extends the index of one file; returns why the file cannot be indexed, if so. */
  private async indexOne(
    file: CaptureFile,
    state: FileProgress,
    onRecord: (rec: PacketRecord) => void,
  ): Promise<string | undefined> {
    let previous: CaptureIndex | undefined;
    let index: CaptureIndex;
    try {
      previous = await loadIndex(this.stateDir, file.path);
      index = await buildIndex(file.path, { previous, chunkSize: INDEX_CHUNK, onRecord });
    } catch (error) {
      if (!isFileFailure(error)) throw error;
      return reasonOf(error);
    }
    // Outside the try: a state directory that cannot be written fails the run, not one file.
    if (index !== previous) await saveIndex(this.stateDir, index);
    state.indexedSize = file.size;
    const h = index.header;
    if (
      h.packets > 0 &&
      (h.maxSec > state.newestSec || (h.maxSec === state.newestSec && h.maxNsec > state.newestNsec))
    ) {
      state.newestSec = h.maxSec;
      state.newestNsec = h.maxNsec;
    }
    return undefined;
  }

  /** Gets or creates the progress of `file` (a new one when the path holds another file now). */
  private stateOf(file: CaptureFile): FileProgress {
    let p = this.files.get(file.path);
    if (p === undefined || p.ino !== file.ino || p.dev !== file.dev) {
      p = { ino: file.ino, dev: file.dev, indexedSize: -1, newestSec: -1, newestNsec: 0 };
      this.files.set(file.path, p);
    }
    return p;
  }
}

/** Failures that end one file, not the run: format and storage problems of the capture. */
function isFileFailure(error: unknown): boolean {
  if (error instanceof PcapFormatError) return true;
  return (
    error instanceof AppError && (error.code === ErrorCode.StorageIo || error.code === ErrorCode.NotFound)
  );
}

function cancelled(signal: AbortSignal): AppError {
  return new AppError(ErrorCode.Cancelled, "indexing cancelled", { cause: signal.reason });
}
