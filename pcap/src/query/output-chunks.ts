/**
 * Output buffering for slices with a fixed set of reused chunks. The format writers hand every
 * full chunk to their sink and allocate a new one, which is right for a sink that keeps chunks
 * (memory, gRPC messages) but turns a multi-gigabyte slice into gigabytes of garbage: V8 only
 * collects external memory every ~64 MB, so the process would hover 60-100 MB above its live
 * size. Here a chunk goes back to the free list once the file or stream has taken it, so a slice
 * holds at most {@link MAX_CHUNKS} chunks, whatever it writes.
 */
import { type FileHandle, open } from "node:fs/promises";
import { Writable } from "node:stream";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import type { ByteSink } from "../format/sink.js";

/** Bytes per output chunk. */
export const OUTPUT_CHUNK = 1024 * 1024;
/** Chunks written or queued before the producer is asked to wait. */
export const MAX_CHUNKS = 4;

/** Where chunks go: a file we opened, a Writable, or a caller's ByteSink (which keeps chunks). */
type Destination =
  | { readonly kind: "file"; readonly handle: FileHandle; readonly name: string }
  | { readonly kind: "stream"; readonly stream: Writable; readonly end: boolean; readonly name: string }
  | { readonly kind: "sink"; readonly sink: ByteSink };

/** A chunked, ordered, bounded output; see the module comment. */
export class OutputChunks {
  /** The chunk being filled. */
  buf: Buffer;
  /** Bytes used in {@link buf}. */
  used = 0;
  private readonly dest: Destination;
  private readonly free: Buffer[] = [];
  private inFlight = 0;
  private flushed = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: AppError | null = null;
  private wake: (() => void) | null = null;
  private closed = false;

  private constructor(dest: Destination) {
    this.dest = dest;
    this.buf = Buffer.allocUnsafe(OUTPUT_CHUNK);
    if (dest.kind === "stream") {
      // Without a listener an 'error' (EPIPE on a closed pipe) would end the process.
      dest.stream.on("error", (error: unknown) => {
        this.failure ??= this.wrap(error);
        this.wake?.();
      });
    }
  }

  /** Opens `target`: a path is created or truncated; a Writable is ended on close when `end`. */
  static async open(target: string | Writable | ByteSink, end: boolean): Promise<OutputChunks> {
    if (typeof target === "string") {
      try {
        return new OutputChunks({ kind: "file", handle: await open(target, "w"), name: target });
      } catch (cause) {
        throw new AppError(ErrorCode.StorageIo, `${target}: cannot create`, { cause });
      }
    }
    if (target instanceof Writable)
      return new OutputChunks({ kind: "stream", stream: target, end, name: "<stream>" });
    return new OutputChunks({ kind: "sink", sink: target });
  }

  /** Bytes written so far, including those still buffered. */
  get bytes(): number {
    return this.flushed + this.used;
  }

  /** True when the producer should `await drain()` before writing more. */
  get needsDrain(): boolean {
    return this.dest.kind === "sink" ? this.dest.sink.full : this.inFlight >= MAX_CHUNKS;
  }

  /** Makes room for `bytes` contiguous bytes at {@link used}, handing the full chunk over first. */
  reserve(bytes: number): void {
    if (this.used + bytes <= this.buf.length) return;
    this.handOver();
    if (bytes > this.buf.length) this.buf = Buffer.allocUnsafe(bytes);
  }

  /** Resolves when the destination has room again; rejects with the first write failure. */
  async drain(): Promise<void> {
    if (this.dest.kind === "sink") {
      await this.dest.sink.drain();
      return;
    }
    while (this.inFlight >= MAX_CHUNKS && this.failure === null) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    if (this.failure !== null) throw this.failure;
  }

  /** Writes what is buffered, waits for it, and releases the destination. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handOver();
    const dest = this.dest;
    if (dest.kind === "sink") {
      await dest.sink.close();
      return;
    }
    if (dest.kind === "file") {
      try {
        await this.chain;
      } finally {
        await dest.handle.close();
      }
    } else {
      while (this.inFlight > 0 && this.failure === null) await this.drainAll();
      if (dest.end) {
        await new Promise<void>((resolve, reject) => {
          dest.stream.end((error?: Error | null) => (error ? reject(this.wrap(error)) : resolve()));
        });
      }
    }
    if (this.failure !== null) throw this.failure;
  }

  private drainAll(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  private handOver(): void {
    if (this.used === 0) return;
    const chunk = this.buf;
    const length = this.used;
    this.flushed += length;
    this.used = 0;
    const dest = this.dest;
    if (dest.kind === "sink") {
      dest.sink.write(chunk.subarray(0, length));
      this.buf = Buffer.allocUnsafe(OUTPUT_CHUNK);
      return;
    }
    this.inFlight += 1;
    this.buf = this.free.pop() ?? Buffer.allocUnsafe(OUTPUT_CHUNK);
    if (dest.kind === "file") {
      this.chain = this.chain.then(() => this.writeFile(dest.handle, dest.name, chunk, length));
      this.chain.catch(() => undefined);
    } else {
      dest.stream.write(chunk.subarray(0, length), (error?: Error | null) => {
        if (error) this.failure ??= this.wrap(error);
        this.release(chunk);
      });
    }
  }

  private async writeFile(handle: FileHandle, name: string, chunk: Buffer, length: number): Promise<void> {
    try {
      let done = 0;
      while (done < length && this.failure === null) {
        const { bytesWritten } = await handle.write(chunk, done, length - done);
        done += bytesWritten;
      }
    } catch (cause) {
      this.failure ??= new AppError(ErrorCode.StorageIo, `${name}: write failed`, { cause });
    } finally {
      this.release(chunk);
    }
  }

  private release(chunk: Buffer): void {
    this.inFlight -= 1;
    if (chunk.length === OUTPUT_CHUNK) this.free.push(chunk);
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private wrap(cause: unknown): AppError {
    const name = this.dest.kind === "sink" ? this.dest.sink.name : this.dest.name;
    return new AppError(ErrorCode.StorageIo, `${name}: write failed`, { cause });
  }
}
