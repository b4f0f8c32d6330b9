/**
 * The main thread's end of a slice: the output arrives from the slice worker in large buffers
 * (1 MiB, transferred), and the gRPC stream wants chunks of exactly `chunkBytes` (the last may be
 * shorter) at known offsets. The queue skips the first `skip` bytes (a resumed call), cuts the
 * rest into chunks and hands them to the stream in order. Whole chunks are views of the
 * transferred buffers (no copy); a chunk that spans two buffers (a resume offset, the last
 * bytes) is assembled in a buffer of its own.
 *
 * A buffer written with a `giveBack` callback is lent: the callback runs once every byte of it
 * was skipped, copied into an assembled chunk, or sent ({@link OutputChunk.sent}, which the
 * caller calls when gRPC has copied the chunk), after which the queue holds no view of it. A
 * buffer lent and dropped by {@link ChunkQueue.fail} is never given back.
 *
 * It holds no backpressure of its own: the worker lends only a few buffers at a time, so the
 * queue never holds more than those plus a chunk. The SHA-256 of the output is the worker's
 * (transfer-sink.ts), next to the slice.
 */
import { AppError, ErrorCode } from "@pcapfleet/core";

/** One chunk of the output, positioned in the whole output. */
export interface OutputChunk {
  /** Offset of `data[0]` in the whole output. */
  readonly offset: number;
  readonly data: Buffer;
  /** For a view of a lent buffer: call once the bytes were copied out (undefined otherwise). */
  readonly sent: (() => void) | undefined;
}

/** A lent buffer: bytes of it still viewed by the queue or the stream, and how to give it back. */
interface Loan {
  outstanding: number;
  readonly giveBack: () => void;
}

/** See the module comment. */
export class ChunkQueue {
  /** Bytes of the whole output so far, skipped ones included. */
  total = 0;
  private readonly chunkBytes: number;
  private skip: number;
  /** Offset in the whole output of the next byte queued. */
  private nextOffset: number;
  private readonly queue: OutputChunk[] = [];
  private queuedBytes = 0;
  /** The chunk being assembled across writes, and its bytes so far. */
  private pending: Buffer | null = null;
  private pendingBytes = 0;
  private closed = false;
  private failure: AppError | null = null;
  /** Woken when a chunk arrives, the output ends or the queue fails. */
  private wakeConsumer: (() => void) | null = null;

  /** A queue cutting chunks of `chunkBytes`, skipping the output's first `skip` bytes. */
  constructor(chunkBytes: number, skip: number) {
    this.chunkBytes = chunkBytes;
    this.skip = skip;
    this.nextOffset = skip;
  }

  /** Bytes cut into chunks that the stream has not taken yet. */
  get queued(): number {
    return this.queuedBytes;
  }

  /**
   * Queues what of `chunk` is past the skipped bytes, cut to chunk size. The queue keeps views of
   * `chunk`; with `giveBack`, the buffer is lent (see the module comment).
   */
  write(chunk: Buffer, giveBack?: () => void): void {
    if (this.closed || this.failure !== null) return;
    const loan: Loan | undefined =
      giveBack === undefined ? undefined : { outstanding: chunk.length, giveBack };
    let at = 0;
    if (this.skip > 0) {
      at = Math.min(this.skip, chunk.length);
      this.skip -= at;
    }
    this.total += chunk.length;
    const size = this.chunkBytes;
    let viewed = 0;
    while (at < chunk.length) {
      if (this.pendingBytes === 0 && chunk.length - at >= size) {
        this.push(chunk.subarray(at, at + size), loan);
        at += size;
        viewed += size;
        continue;
      }
      const take = Math.min(size - this.pendingBytes, chunk.length - at);
      this.pending ??= Buffer.allocUnsafe(size);
      chunk.copy(this.pending, this.pendingBytes, at, at + take);
      this.pendingBytes += take;
      at += take;
      if (this.pendingBytes === size) this.flushPending();
    }
    // Skipped and copied bytes are done with; views are released as they are sent.
    if (loan !== undefined) release(loan, chunk.length - viewed);
  }

  /** Queues the last, shorter chunk; the output is complete. */
  close(): void {
    if (this.closed || this.failure !== null) return;
    this.flushPending();
    this.closed = true;
    this.wakeUp();
  }

  /** Ends the output with `error`: a waiting or later {@link take} rejects with it. The first failure wins. */
  fail(error: AppError): void {
    if (this.closed) return;
    this.failure ??= error;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.wakeUp();
  }

  /**
   * The next chunk; undefined once the output is complete and every chunk was taken. Rejects
   * once the queue failed (the slice failed, or the call was cancelled).
   */
  async take(): Promise<OutputChunk | undefined> {
    for (;;) {
      if (this.failure !== null) throw this.failure;
      const chunk = this.queue.shift();
      if (chunk !== undefined) {
        this.queuedBytes -= chunk.data.length;
        return chunk;
      }
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => {
        this.wakeConsumer = resolve;
      });
    }
  }

  private flushPending(): void {
    if (this.pending === null || this.pendingBytes === 0) return;
    const data = this.pending.subarray(0, this.pendingBytes);
    this.pending = null;
    this.pendingBytes = 0;
    this.push(data, undefined);
  }

  private push(data: Buffer, loan: Loan | undefined): void {
    const sent = loan === undefined ? undefined : once(() => release(loan, data.length));
    this.queue.push({ offset: this.nextOffset, data, sent });
    this.nextOffset += data.length;
    this.queuedBytes += data.length;
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wakeConsumer;
    this.wakeConsumer = null;
    wake?.();
  }
}

/** The `cancelled` error a slice ends with when its call went away. */
export function cancelledError(reason: unknown): AppError {
  return new AppError(ErrorCode.Cancelled, "slice cancelled", { cause: reason });
}

/** Counts `bytes` of `loan` as done with; gives the buffer back when none is left. */
function release(loan: Loan, bytes: number): void {
  if (bytes <= 0) return;
  loan.outstanding -= bytes;
  if (loan.outstanding === 0) loan.giveBack();
}

/** `fn`, callable once. */
function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}
