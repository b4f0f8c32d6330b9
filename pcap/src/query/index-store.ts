/**
 * Keeping the indexes of a store up to date: each capture file gets an index in the state
 * directory (never in the store), built once, extended when the file grew, rebuilt when it was
 * replaced, and left alone when it is unchanged. Used by `pcapfleet-agent index` and by the
 * agent's live catalogue, which feeds its subnet summaries from the same pass (`onRecord`).
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { buildIndex } from "../index-file/build.js";
import { loadIndex, saveIndex } from "../index-file/store.js";
import type { PacketRecord } from "../types.js";
import type { CaptureFile, SkippedFile } from "./catalogue.js";
import { isFileFailure, reasonOf } from "./file-failure.js";
import type { Instant } from "./time.js";

/** Options of {@link indexStores}. */
export interface IndexStoresOptions {
  /** The files to index: `scanStores(...).files`. */
  readonly files: readonly CaptureFile[];
  /** Directory the indexes are written to (created if needed). */
  readonly stateDir: string;
  /**
   * A file modified less than this many milliseconds ago is taken as still being written and
   * left for a later run. Default 0: index everything (a growing file is indexed up to its last
   * complete record, and extended next time).
   */
  readonly quietMs?: number;
  /**
   * Cancels between files and, inside a file, between read batches: rejects with a `cancelled`
   * AppError.
   */
  readonly signal?: AbortSignal;
  /**
   * Read size of the builds (default: the reader's, 4 MiB). Each chunk is scanned synchronously,
   * so a process that must keep serving while it indexes (the agent) passes a smaller one.
   */
  readonly chunkSize?: number;
  /** Called after each file indexed (or left open), with the catalogue entry it came from. */
  readonly onFile?: (entry: IndexedFile, file: CaptureFile) => void;
  /** Called for each file that could not be indexed, as it is added to `skipped`. */
  readonly onSkip?: (skipped: SkippedFile, file: CaptureFile) => void;
  /** Clock, for tests. Default Date.now. */
  readonly now?: () => number;
  /**
   * Sees every record newly indexed (see `BuildOptions.onRecord`), with the file it belongs to:
   * records indexed by an earlier run are not shown again. A record may be shown twice within a
   * run when the build of its file starts over (the file replaced during the scan, a dense key
   * turned sparse): count with a high-water mark of offsets. A reused cursor: copy what you keep.
   */
  readonly onRecord?: (record: PacketRecord, file: CaptureFile) => void;
}

/** What happened to one file. */
export interface IndexedFile {
  /** The capture. */
  readonly path: string;
  /** "built" (new or rebuilt), "extended" (the file grew), "fresh" (unchanged), "open" (still being written). */
  readonly status: "built" | "extended" | "fresh" | "open";
  /** Packets indexed (0 for "open"). */
  readonly packets: number;
  /** Capture bytes covered by the index. */
  readonly bytesIndexed: number;
  /** Size of the index file. */
  readonly indexBytes: number;
  /** Time spent on the file. */
  readonly ms: number;
  /** Timestamp of the newest packet indexed (undefined: none, or "open"). */
  readonly newest: Instant | undefined;
}

/** What {@link indexStores} did. */
export interface IndexStoresResult {
  /** One entry per file that could be indexed (or was left open), in the order given. */
  readonly files: IndexedFile[];
  /** Files that could not be indexed (corrupt, unreadable), with the reason. */
  readonly skipped: SkippedFile[];
}

/** Builds or refreshes the index of every file; see the module comment. */
export async function indexStores(options: IndexStoresOptions): Promise<IndexStoresResult> {
  const now = options.now ?? Date.now;
  const quietMs = options.quietMs ?? 0;
  const files: IndexedFile[] = [];
  const skipped: SkippedFile[] = [];
  for (const [i, file] of options.files.entries()) {
    // Timers and I/O callbacks get a turn between files, however the reads went.
    if (i > 0) await nextTurn();
    if (options.signal?.aborted === true) {
      throw new AppError(ErrorCode.Cancelled, "indexing cancelled", { cause: options.signal.reason });
    }
    const started = now();
    if (quietMs > 0 && started - file.mtimeMs < quietMs) {
      const entry: IndexedFile = {
        path: file.path,
        status: "open",
        packets: 0,
        bytesIndexed: 0,
        indexBytes: 0,
        ms: 0,
        newest: undefined,
      };
      files.push(entry);
      options.onFile?.(entry, file);
      continue;
    }
    let previous: Awaited<ReturnType<typeof loadIndex>>;
    let index: Awaited<ReturnType<typeof buildIndex>>;
    try {
      previous = await loadIndex(options.stateDir, file.path);
      const onRecord = options.onRecord;
      index = await buildIndex(file.path, {
        previous,
        onRecord: onRecord === undefined ? undefined : (record) => onRecord(record, file),
        signal: options.signal,
        ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
      });
    } catch (error) {
      if (!isFileFailure(error)) throw error;
      const skip: SkippedFile = { path: file.path, reason: reasonOf(error) };
      skipped.push(skip);
      options.onSkip?.(skip, file);
      continue;
    }
    // Outside the try: a state directory that cannot be written fails the run, not one file.
    if (index !== previous) await saveIndex(options.stateDir, index);
    const stats = index.stats();
    const h = index.header;
    const entry: IndexedFile = {
      path: file.path,
      status: previous === undefined ? "built" : index === previous ? "fresh" : "extended",
      packets: stats.packets,
      bytesIndexed: stats.bytesIndexed,
      indexBytes: stats.indexBytes,
      ms: now() - started,
      newest: h.packets > 0 ? { sec: h.maxSec, nsec: h.maxNsec } : undefined,
    };
    files.push(entry);
    options.onFile?.(entry, file);
  }
  return { files, skipped };
}
