/**
 * Indexing runs of the live catalogue: one pass over the files that are new or grew, feeding the
 * subnet summariser from the same pass (behind the per-file watermark), and tracking per file how
 * far it is indexed and its newest packet, which availability and the completion of summary
 * minutes need. The per-file loop (load, build or extend, save) is the engine's `indexStores`,
 * with a smaller read size so the event loop is never held long, and the run's signal, which it
 * checks between read batches.
 */
import { stat } from "node:fs/promises";
import type { PacketRecord } from "@pcapfleet/pcap";
import { type CaptureFile, type IndexedFile, indexStores, type SkippedFile } from "@pcapfleet/pcap/query";
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
   * AppError when `signal` aborts (checked between read batches of 512 KiB, so a large file stops
   * within milliseconds), and with the error of a state directory that cannot be written.
   */
  async run(files: readonly CaptureFile[], signal: AbortSignal): Promise<IndexRunResult> {
    let bytesTotal = 0;
    const work = new Map<CaptureFile, number>();
    for (const file of files) {
      const p = this.stateOf(file);
      const bytes = p.indexedSize < 0 || p.indexedSize > file.size ? file.size : file.size - p.indexedSize;
      bytesTotal += bytes;
      work.set(file, bytes);
    }
    this.progress = {
      startedAt: new Date(),
      filesDone: 0,
      filesTotal: files.length,
      bytesDone: 0,
      bytesTotal,
    };
    const summarizer = this.summarizer;
    // The file being indexed, with its watermark and progress: set by the first callback for it.
    let current: CaptureFile | undefined;
    let mark: Watermark = { end: 0, first: "" };
    let state: FileProgress | undefined;
    let first = true;
    const enter = (file: CaptureFile): FileProgress => {
      if (file !== current || state === undefined) {
        current = file;
        mark = this.watermarks.entryFor(file);
        state = this.stateOf(file);
        first = true;
        this.currentBase = 0;
        this.currentOffset = 0;
      }
      return state;
    };
    const onRecord = (rec: PacketRecord, file: CaptureFile): void => {
      const s = enter(file);
      if (first) {
        first = false;
        this.currentBase = rec.fileOffset;
      }
      if (rec.tsSec > s.newestSec || (rec.tsSec === s.newestSec && rec.tsNsec > s.newestNsec)) {
        s.newestSec = rec.tsSec;
        s.newestNsec = rec.tsNsec;
      }
      this.currentOffset = rec.fileOffset;
      // Records counted before (an index rebuilt after the state was wiped, or a build that
      // started over) are not counted again.
      if (rec.fileOffset < mark.end) return;
      mark.end = rec.fileOffset + rec.recordLength;
      summarizer.add(rec);
    };
    const done = (file: CaptureFile): void => {
      const progress = this.progress as IndexingProgress;
      this.progress = {
        ...progress,
        filesDone: progress.filesDone + 1,
        bytesDone: progress.bytesDone + (work.get(file) ?? 0),
      };
      current = undefined;
      state = undefined;
      this.currentBase = 0;
      this.currentOffset = 0;
    };
    const onFile = (entry: IndexedFile, file: CaptureFile): void => {
      const s = enter(file);
      s.indexedSize = file.size;
      const newest = entry.newest;
      if (
        newest !== undefined &&
        (newest.sec > s.newestSec || (newest.sec === s.newestSec && newest.nsec > s.newestNsec))
      ) {
        s.newestSec = newest.sec;
        s.newestNsec = newest.nsec;
      }
      done(file);
    };
    try {
      const result = await indexStores({
        files,
        stateDir: this.stateDir,
        chunkSize: INDEX_CHUNK,
        signal,
        onRecord,
        onFile,
        onSkip: (_skip, file) => {
          enter(file);
          done(file);
        },
      });
      const corrupt: SkippedFile[] = [];
      for (const skip of result.skipped) {
        // A file rotated away during the run is no failure.
        if ((await stat(skip.path).catch(() => undefined)) !== undefined) corrupt.push(skip);
      }
      return { corrupt };
    } finally {
      this.progress = undefined;
    }
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
