/**
 * The merge of a slice: per-file streams of matching packets, combined by timestamp with the
 * merge package's {@link TimeHeap}. A file joins the heap only when the merge reaches its first
 * packet (the catalogue's first timestamp), which is when mergecap would first look at it too;
 * until then it is not even opened. The heap's top file emits packets while they sort before
 * both the runner-up and the next file waiting to join, so the heap is touched once per run of
 * packets, not per packet.
 */
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { type TieBreak, TimeHeap } from "../merge/time-heap.js";
import { type BatchSource, META_STRIDE } from "./batch-source.js";
import type { CaptureFile, SkippedFile } from "./catalogue.js";
import type { FileOpener } from "./file-opener.js";
import type { SliceProgress } from "./slice.js";
import type { SliceWriter } from "./slice-output.js";
import { END_OF_TIME } from "./time.js";

/** Hooks of a merge. */
export interface MergeHooks {
  readonly tieBreak: TieBreak;
  readonly signal: AbortSignal | null;
  readonly onProgress: ((progress: SliceProgress) => void) | null;
}

/** Least time between two progress reports. */
const PROGRESS_MS = 100;

/** One slice's merge; see the module comment. */
export class SliceMerge {
  /** Files ended early, with the reason, in merge order. */
  readonly skipped: SkippedFile[] = [];
  /** Files opened. */
  filesRead = 0;
  /** Capture bytes read by finished files. */
  bytesRead = 0;
  private readonly files: readonly CaptureFile[];
  private readonly opener: FileOpener;
  private readonly writer: SliceWriter;
  private readonly hooks: MergeHooks;
  private readonly heap: TimeHeap;
  private readonly sources: (BatchSource | undefined)[] = [];
  private readonly starting: (Promise<BatchSource | null> | undefined)[] = [];
  private readonly skips: (SkippedFile | undefined)[] = [];
  private next = 0;
  private done = 0;
  private lastProgress = 0;

  /** A merge of `files` (merge order) into `writer`. */
  constructor(files: readonly CaptureFile[], opener: FileOpener, writer: SliceWriter, hooks: MergeHooks) {
    this.files = files;
    this.opener = opener;
    this.writer = writer;
    this.hooks = hooks;
    this.heap = new TimeHeap(files.length, hooks.tieBreak);
  }

  /** Merges until every file ends (false) or a cap is reached (true). */
  async run(): Promise<boolean> {
    const heap = this.heap;
    const writer = this.writer;
    for (;;) {
      while (this.next < this.files.length && (heap.size === 0 || !this.topBeforePending())) {
        await this.admit(this.next++);
      }
      if (heap.size === 0) return false;
      const source = this.sources[heap.top] as BatchSource;
      const capped = this.emit(source, heap.runnerUp());
      if (writer.needsDrain) await writer.drain();
      if (capped) return true;
      if (source.pos === source.count) {
        this.checkAbort();
        if (!(await source.refill())) {
          heap.pop();
          await this.finish(source);
          continue;
        }
        this.progress(false);
      }
      const o = source.pos * META_STRIDE;
      heap.replaceTop(source.meta[o] as number, source.meta[o + 1] as number);
    }
  }

  /** Releases every file still open (a cap or a cancellation stopped the merge). */
  async closeAll(): Promise<void> {
    const pending = this.starting.map((start) =>
      start?.then((source) => source?.close()).catch(() => undefined),
    );
    await Promise.all(pending);
  }

  /** Puts the per-file skips in merge order and sends the final progress report. */
  report(): void {
    for (const skip of this.skips) if (skip !== undefined) this.skipped.push(skip);
    this.progress(true);
  }

  /** Opens file `order` and puts it on the heap. */
  private async admit(order: number): Promise<void> {
    const source = await this.start(order);
    if (source === null) {
      this.done += 1;
      return;
    }
    this.filesRead += 1;
    this.checkAbort();
    if (!(await source.refill())) {
      await this.finish(source);
      return;
    }
    this.sources[order] = source;
    this.heap.push(order, source.meta[0] as number, source.meta[1] as number);
  }

  private start(order: number): Promise<BatchSource | null> {
    let started = this.starting[order];
    if (started === undefined) {
      const file = this.files[order] as CaptureFile;
      started = this.opener.open(order, file).then((opened) => {
        if (opened.skip !== null) this.skips[order] = opened.skip;
        return opened.source;
      });
      this.starting[order] = started;
    }
    return started;
  }

  private async finish(source: BatchSource): Promise<void> {
    this.bytesRead += source.bytesRead;
    if (source.error !== null) this.skips[source.order] = { path: source.path, reason: source.error };
    this.done += 1;
    this.sources[source.order] = undefined;
    await source.close();
  }

  /** True when the heap's top packet sorts before the first packet of the next file to join. */
  private topBeforePending(): boolean {
    const heap = this.heap;
    const top = heap.top;
    const first = (this.files[this.next] as CaptureFile).first ?? END_OF_TIME;
    const sec = heap.sec[top] as number;
    const nsec = heap.nsec[top] as number;
    if (sec !== first.sec) return sec < first.sec;
    if (nsec !== first.nsec) return nsec < first.nsec;
    return (heap.rank[top] as number) < (heap.rank[this.next] as number);
  }

  /**
   * Writes packets of `source` from its position while they sort before the runner-up's next
   * packet and the next joining file's first. Returns true when a cap stopped it.
   */
  private emit(source: BatchSource, runnerUp: number): boolean {
    const heap = this.heap;
    const rank = heap.rank[source.order] as number;
    let limSec = Number.POSITIVE_INFINITY;
    let limNsec = 0;
    let limRank = 0;
    if (runnerUp >= 0) {
      limSec = heap.sec[runnerUp] as number;
      limNsec = heap.nsec[runnerUp] as number;
      limRank = heap.rank[runnerUp] as number;
    }
    if (this.next < this.files.length) {
      const first = (this.files[this.next] as CaptureFile).first ?? END_OF_TIME;
      const pendingRank = heap.rank[this.next] as number;
      if (
        first.sec < limSec ||
        (first.sec === limSec && (first.nsec < limNsec || (first.nsec === limNsec && pendingRank < limRank)))
      ) {
        limSec = first.sec;
        limNsec = first.nsec;
        limRank = pendingRank;
      }
    }
    const m = source.meta;
    const buf = source.buf;
    const n = source.count;
    const writer = this.writer;
    let p = source.pos;
    let capped = false;
    for (; p < n; p++) {
      const o = p * META_STRIDE;
      const sec = m[o] as number;
      const nsec = m[o + 1] as number;
      if (sec > limSec || (sec === limSec && (nsec > limNsec || (nsec === limNsec && rank > limRank)))) break;
      if (!writer.write(buf, m, p)) {
        capped = true;
        break;
      }
    }
    source.pos = p;
    return capped;
  }

  private checkAbort(): void {
    throwIfAborted(this.hooks.signal);
  }

  private progress(final: boolean): void {
    const onProgress = this.hooks.onProgress;
    if (onProgress === null) return;
    const now = Date.now();
    if (!final && now - this.lastProgress < PROGRESS_MS) return;
    this.lastProgress = now;
    let reading = 0;
    for (const source of this.sources) if (source !== undefined) reading += source.bytesRead;
    onProgress({
      packets: this.writer.packets,
      bytes: this.writer.bytes,
      bytesRead: this.bytesRead + reading,
      filesDone: this.done,
      filesTotal: this.files.length,
    });
  }
}

/** Throws the slice's `cancelled` error when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | null | undefined): void {
  if (signal?.aborted === true) {
    throw new AppError(ErrorCode.Cancelled, "slice cancelled", { cause: signal.reason });
  }
}
