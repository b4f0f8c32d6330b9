/**
 * The bridge between a slice writing its output and a gRPC stream sending it: a ByteSink that
 * hashes every byte of the output, skips the first `skip` bytes (a resumed call), cuts the rest
 * into chunks of exactly `chunkBytes` (the last may be shorter) and queues them for the stream.
 * The slice is told to wait (`full`) once a chunk is queued beyond what the stream has taken,
 * so the output never runs more than about one write (1 MiB) plus a chunk ahead of gRPC.
 */
import { createHash, type Hash } from "node:crypto";
import { AppError, ErrorCode } from "@pcapfleet/core";
import type { ByteSink } from "@pcapfleet/pcap";

/** One chunk of the output, positioned in the whole output. */
export interface OutputChunk {
  /** Offset of `data[0]` in the whole output. */
  readonly offset: number;
  readonly data: Buffer;
}

/** See the module comment. */
export class ChunkQueue implements ByteSink {
  /** For errors. */
  readonly name = "<grpc stream>";
  /** Bytes of the whole output so far, skipped ones included. */
  total = 0;
  private readonly chunkBytes: number;
  private readonly hash: Hash = createHash("sha256");
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
  /** Woken when the consumer takes a chunk (producer side) or a chunk arrives (consumer side). */
  private wakeProducer: (() => void) | null = null;
  private wakeConsumer: (() => void) | null = null;

  /** A queue cutting chunks of `chunkBytes`, skipping the output's first `skip` bytes. */
  constructor(chunkBytes: number, skip: number) {
    this.chunkBytes = chunkBytes;
    this.skip = skip;
    this.nextOffset = skip;
  }

  /** True while more than a chunk waits for the stream: the slice should await {@link drain}. */
  get full(): boolean {
    return this.failure !== null || this.queuedBytes >= this.chunkBytes;
  }

  /** Hashes `chunk`, then queues what is past the skipped bytes, cut to chunk size. */
  write(chunk: Buffer): void {
    this.hash.update(chunk);
    let at = 0;
    if (this.skip > 0) {
      at = Math.min(this.skip, chunk.length);
      this.skip -= at;
    }
    this.total += chunk.length;
    const size = this.chunkBytes;
    while (at < chunk.length) {
      if (this.pendingBytes === 0 && chunk.length - at >= size) {
        // Whole chunks are views of the slice's buffer, which the sink owns: no copy.
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

  /** Resolves once the stream has taken enough; rejects once the queue was failed. */
  async drain(): Promise<void> {
    while (this.failure === null && this.queuedBytes >= this.chunkBytes) {
      await new Promise<void>((resolve) => {
        this.wakeProducer = resolve;
      });
    }
    if (this.failure !== null) throw this.failure;
  }

  /** Queues the last, shorter chunk; the output is complete. */
  close(): Promise<void> {
    if (!this.closed) {
      this.flushPending();
      this.closed = true;
      this.wakeConsumer?.();
    }
    return Promise.resolve();
  }

  /** Lowercase hex SHA-256 of the whole output; call once, after the slice finished. */
  digest(): string {
    return this.hash.digest("hex");
  }

  /**
   * Stops the producer: a waiting or later `drain()` rejects with `error` (the call was
   * cancelled), so the slice ends at its next write instead of waiting for a reader that is gone.
   */
  fail(error: AppError): void {
    this.failure ??= error;
    this.wakeProducer?.();
    this.wakeConsumer?.();
  }

  /**
   * The next chunk; undefined once the output is complete and every chunk was taken, or when
   * `stopped()` turns true while waiting (checked each time something wakes the consumer).
   */
  async take(stopped: () => boolean): Promise<OutputChunk | undefined> {
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk !== undefined) {
        this.queuedBytes -= chunk.data.length;
        const wake = this.wakeProducer;
        this.wakeProducer = null;
        wake?.();
        return chunk;
      }
      if (this.closed || stopped()) return undefined;
      await new Promise<void>((resolve) => {
        this.wakeConsumer = resolve;
      });
      this.wakeConsumer = null;
    }
  }

  /** Wakes a consumer waiting in {@link take} (the slice ended or failed). */
  poke(): void {
    this.wakeConsumer?.();
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
    this.wakeConsumer?.();
  }
}

/** The `cancelled` error a slice ends with when its call went away. */
export function cancelledError(reason: unknown): AppError {
  return new AppError(ErrorCode.Cancelled, "slice cancelled", { cause: reason });
}
