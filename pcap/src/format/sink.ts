/**
 * Where written captures go. A {@link ChunkedOutput} sends whole chunks to a
 * {@link ChunkDestination}: a file (by path or descriptor), a Node Writable (a gRPC call, a
 * socket, an HTTP response, standard output) or a caller's {@link ByteSink} such as memory.
 *
 * A destination either gives each chunk back once its bytes are out, so the output fills it
 * again (a file we write ourselves; a socket or file stream, which call back once the kernel
 * has the bytes), or keeps it (a ByteSink, which owns what it is given; any other Writable,
 * since a Transform or PassThrough still holds the very Buffer after calling back).
 */
import { once } from "node:events";
import { write as writeFd } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import type { Writable } from "node:stream";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";

/**
 * `node:net`, `node:stream` and `fs.WriteStream` (a getter that loads the streams), taken when a
 * Writable is given: a CLI writing a file does not load them (start-up, ADR 0012), and whoever
 * passes a Writable has loaded them.
 */
function streamClasses() {
  return {
    WriteStream: process.getBuiltinModule("node:fs").WriteStream,
    Socket: process.getBuiltinModule("node:net").Socket,
    Writable: process.getBuiltinModule("node:stream").Writable,
  };
}

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
  /**
   * Optional: a sink that is done with a chunk at a known moment lends it instead of keeping
   * it. It takes `chunk[0, length)` and resolves once it no longer needs the bytes, with the
   * Buffer to fill next: the same memory, as a new Buffer when the bytes travelled to another
   * thread and back (a transferred ArrayBuffer), or undefined to reuse `chunk` itself. The
   * output then keeps a few chunks in circulation instead of allocating one per write.
   */
  lend?(chunk: Buffer, length: number): Promise<Buffer | undefined>;
}

/** What writers accept as a destination: a path, an open file descriptor, a Writable, or a sink. */
export type WriteTarget = string | number | Writable | ByteSink;

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

/** Where a {@link ChunkedOutput} sends its chunks, in order; see the module comment. */
export interface ChunkDestination {
  /** Name used in errors. */
  readonly name: string;
  /** True when a chunk may be filled again once the promise of its {@link ChunkDestination.send} resolves. */
  readonly reuses: boolean;
  /** True while the destination itself asks the producer to wait (its own backpressure). */
  readonly full: boolean;
  /**
   * Queues `chunk[0, length)`; resolves once the destination is done with it (with the Buffer
   * to fill again when the memory came back as a new object, see {@link ByteSink.lend}),
   * rejects on failure.
   */
  send(chunk: Buffer, length: number): Promise<unknown>;
  /** Resolves once {@link ChunkDestination.full} has cleared; rejects with a failure. */
  drain(): Promise<void>;
  /** Called once every send has settled: releases the destination. */
  close(): Promise<void>;
}

function writeFailed(name: string, cause: unknown): AppError {
  return new AppError(ErrorCode.StorageIo, `${name}: write failed`, { cause });
}

/** A file written in order, one chunk at a time, by positionless writes. */
class FileDestination implements ChunkDestination {
  readonly reuses = true;
  readonly full = false;
  readonly name: string;
  private readonly writeAt: (chunk: Buffer, offset: number, length: number) => Promise<number>;
  private readonly release: () => Promise<void>;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    name: string,
    writeAt: (chunk: Buffer, offset: number, length: number) => Promise<number>,
    release: () => Promise<void>,
  ) {
    this.name = name;
    this.writeAt = writeAt;
    this.release = release;
  }

  send(chunk: Buffer, length: number): Promise<void> {
    // After a failure the chain stays rejected: later chunks are not written.
    this.tail = this.tail.then(() => this.writeAll(chunk, length));
    return this.tail;
  }

  drain(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return this.release();
  }

  private async writeAll(chunk: Buffer, length: number): Promise<void> {
    let done = 0;
    try {
      while (done < length) done += await this.writeAt(chunk, done, length - done);
    } catch (cause) {
      throw writeFailed(this.name, cause);
    }
  }
}

/** A Writable; it reuses chunks when it is one that is done with the bytes when it calls back. */
class StreamDestination implements ChunkDestination {
  readonly name = "<stream>";
  readonly reuses: boolean;
  private readonly stream: Writable;
  private readonly end: boolean;
  private readonly pending = new Set<(error: AppError) => void>();
  private failure: AppError | null = null;

  constructor(stream: Writable, end: boolean) {
    this.stream = stream;
    this.end = end;
    this.reuses =
      stream instanceof streamClasses().Socket ||
      stream instanceof streamClasses().WriteStream ||
      stream === process.stdout ||
      stream === process.stderr;
    // Without a listener an 'error' (EPIPE on a closed pipe) would end the process.
    stream.on("error", (error: unknown) => {
      this.failure ??= writeFailed(this.name, error);
      for (const fail of this.pending) fail(this.failure);
      this.pending.clear();
    });
  }

  /** A reused chunk is bounded by the output's pool; a kept one by the stream's high-water mark. */
  get full(): boolean {
    return !this.reuses && this.stream.writableNeedDrain;
  }

  send(chunk: Buffer, length: number): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.pending.add(reject);
      this.stream.write(chunk.subarray(0, length), (error?: Error | null) => {
        this.pending.delete(reject);
        if (error) reject(writeFailed(this.name, error));
        else resolve();
      });
    });
  }

  async drain(): Promise<void> {
    if (this.failure === null && this.full) {
      await once(this.stream, "drain").catch((error: unknown) => {
        this.failure ??= writeFailed(this.name, error);
      });
    }
    if (this.failure !== null) throw this.failure;
  }

  async close(): Promise<void> {
    if (this.failure !== null) throw this.failure;
    if (!this.end) return;
    await new Promise<void>((resolve, reject) => {
      this.stream.end((error?: Error | null) => (error ? reject(writeFailed(this.name, error)) : resolve()));
    });
  }
}

/** A caller's sink: it owns every chunk it is given, unless it lends them ({@link ByteSink.lend}). */
class SinkDestination implements ChunkDestination {
  readonly reuses: boolean;
  readonly name: string;
  private readonly sink: ByteSink;

  constructor(sink: ByteSink) {
    this.sink = sink;
    this.name = sink.name;
    this.reuses = sink.lend !== undefined;
  }

  get full(): boolean {
    return this.sink.full;
  }

  send(chunk: Buffer, length: number): Promise<unknown> {
    if (this.sink.lend !== undefined) return this.sink.lend(chunk, length);
    this.sink.write(chunk.subarray(0, length));
    return Promise.resolve();
  }

  drain(): Promise<void> {
    return this.sink.drain();
  }

  close(): Promise<void> {
    return this.sink.close();
  }
}

/**
 * A regular file written at explicit offsets: each chunk's write is handed to the thread pool
 * the moment the chunk is full, several at once. The chained {@link FileDestination} starts a
 * write only when the previous one has called back, which needs the event loop: a producer
 * reading synchronously (a CLI slice) runs it only when it stops to wait, so its writes were
 * half serialised with its reads (measured: 25-50 ms of waiting in a 35 MB selective slice that
 * takes 150 ms). Here the kernel copies while the producer goes on.
 */
class PositionedFileDestination implements ChunkDestination {
  readonly reuses = true;
  readonly full = false;
  readonly name: string;
  private readonly handle: FileHandle;
  private position = 0;

  constructor(name: string, handle: FileHandle) {
    this.name = name;
    this.handle = handle;
  }

  send(chunk: Buffer, length: number): Promise<void> {
    const at = this.position;
    this.position += length;
    return this.writeAll(chunk, length, at);
  }

  drain(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  private async writeAll(chunk: Buffer, length: number, at: number): Promise<void> {
    let done = 0;
    try {
      while (done < length) {
        const { bytesWritten } = await this.handle.write(chunk, done, length - done, at + done);
        if (bytesWritten === 0) throw new Error("no progress");
        done += bytesWritten;
      }
    } catch (cause) {
      throw writeFailed(this.name, cause);
    }
  }
}

/**
 * Opens a {@link WriteTarget}. A path is created or truncated (and closed at the end); a file
 * descriptor is written at its position and left open; a Writable is ended at the end when
 * `end` is true. With `concurrent`, a path that is a regular file gets its chunks written at
 * their offsets as soon as they are sent ({@link PositionedFileDestination}); anything else
 * (a FIFO, a terminal, `/dev/stdout`) is written in order as without it.
 */
export async function openDestination(
  target: WriteTarget,
  end: boolean,
  concurrent = false,
): Promise<ChunkDestination> {
  if (typeof target === "string") {
    try {
      const handle = await open(target, "w");
      const regular = concurrent && (await handle.stat().catch(() => undefined))?.isFile() === true;
      if (regular) return new PositionedFileDestination(target, handle);
      const writeAt = async (chunk: Buffer, offset: number, length: number) =>
        (await handle.write(chunk, offset, length)).bytesWritten;
      return new FileDestination(target, writeAt, () => handle.close());
    } catch (cause) {
      throw new AppError(ErrorCode.StorageIo, `${target}: cannot create`, { cause });
    }
  }
  if (typeof target === "number") {
    const writeAt = (chunk: Buffer, offset: number, length: number) =>
      new Promise<number>((resolve, reject) => {
        writeFd(target, chunk, offset, length, null, (error, n) => (error ? reject(error) : resolve(n)));
      });
    return new FileDestination(`fd ${target}`, writeAt, () => Promise.resolve());
  }
  if (target instanceof streamClasses().Writable) return new StreamDestination(target, end);
  return new SinkDestination(target);
}
