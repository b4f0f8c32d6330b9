/**
 * The main thread's end of a slice: the output arrives from the slice worker in large buffers
 * (1 MiB, transferred), and the gRPC stream wants chunks of exactly `chunkBytes` (the last may be
 * shorter) at known offsets. The queue skips the first `skip` bytes (a resumed call), cuts the
 * rest into chunks and hands them to the stream in order. Whole chunks are views of the
 * transferred buffers (no copy); only a chunk that spans two buffers is assembled.
 *
 * It holds no backpressure of its own: the worker sends a buffer only with a credit, and the
 * caller returns one once the stream has taken the buffer's bytes ({@link ChunkQueue.queued}
 * says how many bytes wait), so the queue never holds more than the credits' worth plus a chunk.
 * The SHA-256 of the output is the worker's (transfer-sink.ts), next to the slice.
 */
import { AppError, ErrorCode } from "@pcapfleet/core";

/** One chunk of the output, positioned in the whole output. */
export interface OutputChunk {
  /** Offset of `data[0]` in the whole output. */
  readonly offset: number;
  readonly data: Buffer;
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
  /** Pieces of the chunk being assembled across writes. */
  private pending: Buffer[] = [];
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

  /** Queues what of `chunk` is past the skipped bytes, cut to chunk size. The queue keeps `chunk`. */
  write(chunk: Buffer): void {
    if (this.closed || this.failure !== null) return;
    let at = 0;
    if (this.skip > 0) {
      at = Math.min(this.skip, chunk.length);
      this.skip -= at;
    }
    this.total += chunk.length;
    const size = this.chunkBytes;
    while (at < chunk.length) {
      if (this.pendingBytes === 0 && chunk.length - at >= size) {
        this.push(chunk.subarray(at, at + size));
        at += size;
        continue;
      }
      const take = Math.min(size - this.pendingBytes, chunk.length - at);
      this.pending.push(chunk.subarray(at, at + take));
      this.pendingBytes += take;
      at += take;
      if (this.pendingBytes === size) this.flushPending();
    }
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
    if (this.pendingBytes === 0) return;
    const data = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.push(data);
  }

  private push(data: Buffer): void {
    this.queue.push({ offset: this.nextOffset, data });
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
