/**
 * The output side of the writers. Records are copied into one large chunk ({@link BufferedWriter});
 * full chunks go whole to a sink: a file, a file descriptor, any Node Writable (a gRPC call, a
 * socket, an HTTP response) or memory. Sinks thus see few, large writes; backpressure is reported
 * through {@link ByteSink.full} and awaited with `drain()`.
 */
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { Writable } from "node:stream";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";

/** A destination for chunks of bytes. Implement it to send captures anywhere. */
export interface ByteSink {
  /** Name used in errors. */
  readonly name: string;
  /** Takes ownership of `chunk` (the caller never touches it again) and queues it. */
  write(chunk: Buffer): void;
  /** True while the producer should stop and await {@link ByteSink.drain}. */
  readonly full: boolean;
  /** Resolves once queued bytes are accepted downstream; rejects with the first write failure. */
  drain(): Promise<void>;
  /** Writes what is queued, then releases the destination. */
  close(): Promise<void>;
}

/** What writers accept as a destination: a path, an open file descriptor, a Writable, or a sink. */
export type WriteTarget = string | number | Writable | ByteSink;

/** Bytes a file sink may have in flight before it reports {@link ByteSink.full}. */
const FILE_HIGH_WATER = 8 * 1024 * 1024;

/** Collects everything in memory; {@link MemorySink.toBuffer} returns the bytes written. */
export class MemorySink implements ByteSink {
  /** Always "<memory>". */
  readonly name = "<memory>";
  /** Memory never pushes back. */
  readonly full = false;
  private readonly chunks: Buffer[] = [];
  private size = 0;

  /** Keeps the chunk. */
  write(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** Nothing to wait for. */
  drain(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Total bytes written. */
  get length(): number {
    return this.size;
  }

  /** Everything written so far, as one Buffer. */
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

/** A sink over an open file handle; chunks are written in order, one at a time. */
class FileSink implements ByteSink {
  readonly name: string;
  private readonly handle: FileHandle;
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(handle: FileHandle, name: string) {
    this.handle = handle;
    this.name = name;
  }

  get full(): boolean {
    return this.pending >= FILE_HIGH_WATER;
  }

  write(chunk: Buffer): void {
    this.pending += chunk.length;
    const next = this.chain.then(() => this.writeAll(chunk));
    // Marked handled here; the failure still reaches whoever awaits drain() or close().
    next.catch(() => undefined);
    this.chain = next;
  }

  drain(): Promise<void> {
    return this.chain;
  }

  async close(): Promise<void> {
    try {
      await this.chain;
    } finally {
      await this.handle.close();
    }
  }

  private async writeAll(chunk: Buffer): Promise<void> {
    let done = 0;
    try {
      while (done < chunk.length) {
        const { bytesWritten } = await this.handle.write(chunk, done, chunk.length - done);
        done += bytesWritten;
      }
    } catch (cause) {
      throw new AppError(ErrorCode.StorageIo, `${this.name}: write failed`, { cause });
    } finally {
      this.pending -= chunk.length;
    }
  }
}

/** A sink over a Node Writable, honouring its backpressure; `end` decides whether close() ends it. */
class StreamSink implements ByteSink {
  readonly name: string;
  private readonly stream: Writable;
  private readonly end: boolean;
  private failure: unknown;

  constructor(stream: Writable, name: string, end: boolean) {
    this.stream = stream;
    this.name = name;
    this.end = end;
    stream.on("error", (error: unknown) => {
      this.failure ??= error;
    });
  }

  get full(): boolean {
    return this.stream.writableNeedDrain;
  }

  write(chunk: Buffer): void {
    this.stream.write(chunk);
  }

  async drain(): Promise<void> {
    this.check();
    if (this.stream.writableNeedDrain) await once(this.stream, "drain");
    this.check();
  }

  async close(): Promise<void> {
    await this.drain();
    if (!this.end) return;
    await new Promise<void>((resolve, reject) => {
      this.stream.end((error?: Error | null) => (error ? reject(this.wrap(error)) : resolve()));
    });
  }

  private check(): void {
    if (this.failure !== undefined) throw this.wrap(this.failure);
  }

  private wrap(cause: unknown): AppError {
    return new AppError(ErrorCode.StorageIo, `${this.name}: write failed`, { cause });
  }
}

/** Options of {@link toByteSink}. */
export interface SinkOptions {
  /** For a Writable target: end it on close (default true; false leaves it open for more). */
  end: boolean;
}

/**
 * Turns a {@link WriteTarget} into a sink. A path is created or truncated; a file descriptor is
 * written but left open; a Writable is ended on close unless `end` is false.
 */
export async function toByteSink(target: WriteTarget, options: Partial<SinkOptions> = {}): Promise<ByteSink> {
  if (typeof target === "string") {
    try {
      return new FileSink(await open(target, "w"), target);
    } catch (cause) {
      throw new AppError(ErrorCode.StorageIo, `${target}: cannot create`, { cause });
    }
  }
  if (typeof target === "number") {
    const stream = createWriteStream("", { fd: target, autoClose: false });
    return new StreamSink(stream, `fd ${target}`, true);
  }
  if (target instanceof Writable) return new StreamSink(target, "<stream>", options.end ?? true);
  return target;
}

/** Default output chunk: 1 MiB keeps sink writes few and large without holding much memory. */
export const DEFAULT_WRITE_CHUNK = 1024 * 1024;

/**
 * Base of the capture writers. The usual loop is:
 * `if (!writer.write(rec)) await writer.drain();` then `await writer.close()`.
 */
export abstract class BufferedWriter {
  /** Where the bytes go. */
  protected readonly sink: ByteSink;
  /** The chunk being filled. */
  protected out: Buffer;
  /** Bytes used in {@link out}. */
  protected used = 0;
  private readonly chunkSize: number;
  private flushed = 0;
  private closed = false;

  /** For subclasses: buffers into chunks of `chunkSize` bytes (at least 64 KiB) for `sink`. */
  protected constructor(sink: ByteSink, chunkSize: number) {
    this.sink = sink;
    this.chunkSize = Math.max(64 * 1024, chunkSize);
    this.out = Buffer.allocUnsafe(this.chunkSize);
  }

  /** Bytes written so far, including those still buffered: the file offset of the next record. */
  get bytesWritten(): number {
    return this.flushed + this.used;
  }

  /** True when the caller should `await drain()` before writing more. */
  get needsDrain(): boolean {
    return this.sink.full;
  }

  /** Waits until the sink has room again (stream backpressure, file writes in flight). */
  drain(): Promise<void> {
    return this.sink.drain();
  }

  /** Hands the buffered bytes to the sink and waits for them to be accepted. */
  async flush(): Promise<void> {
    this.handOver();
    await this.sink.drain();
  }

  /** Flushes and closes the sink. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handOver();
    await this.sink.close();
  }

  /**
   * Makes room for `bytes` in {@link out}: a full chunk goes to the sink (which now owns it) and a
   * new one is started, so a buffer the sink still holds is never overwritten.
   */
  protected reserve(bytes: number): void {
    if (this.used + bytes <= this.out.length) return;
    this.handOver();
    if (bytes > this.out.length) this.out = Buffer.allocUnsafe(Math.max(bytes, this.chunkSize));
  }

  private handOver(): void {
    if (this.used === 0) return;
    this.sink.write(this.out.subarray(0, this.used));
    this.flushed += this.used;
    this.out = Buffer.allocUnsafe(this.chunkSize);
    this.used = 0;
  }
}
