/**
 * Where the merge's classic writer sends full chunks. The format layer's writers hand every
 * chunk to their sink for good and allocate a new one, which is right for sinks that keep the
 * chunk (a stream, memory). For a file the merge can do better: chunks come back once written
 * and are filled again. Measured on a 900 MB merge, fresh 4 MiB chunks cost four times the copy
 * time of recycled ones (first-touch page faults, plus the GC pressure of external memory), and
 * a few chunks in flight let the kernel's copy run on another core while the merge goes on.
 */
import { type FileHandle, open } from "node:fs/promises";
import { AppError, ErrorCode } from "@pcapfleet/core";
import { type ByteSink, toByteSink, type WriteTarget } from "../format/index.js";

/** A destination of fixed-size chunks that may give written chunks back for reuse. */
export interface ChunkSink {
  /** Name used in errors. */
  readonly name: string;
  /** An empty chunk of the sink's chunk size: a recycled one when available. */
  take(): Buffer;
  /** Queues `chunk[0, length)`; the chunk belongs to the sink until it gives it back via take(). */
  write(chunk: Buffer, length: number): void;
  /** True while the producer should `await drain()`. */
  readonly full: boolean;
  /** Resolves once there is room; rejects with the first write failure. */
  drain(): Promise<void>;
  /** Writes everything queued and releases the destination. */
  close(): Promise<void>;
}

/** Chunks a file sink may have queued or being written before it reports full. */
const IN_FLIGHT = 3;

/** A file written sequentially, one chunk at a time, its chunks recycled once written. */
class RecyclingFileSink implements ChunkSink {
  readonly name: string;
  private readonly handle: FileHandle;
  private readonly chunkSize: number;
  private readonly spare: Buffer[] = [];
  private readonly queue: Promise<void>[] = [];
  private tail: Promise<void> = Promise.resolve();

  constructor(handle: FileHandle, name: string, chunkSize: number) {
    this.handle = handle;
    this.name = name;
    this.chunkSize = chunkSize;
  }

  take(): Buffer {
    return this.spare.pop() ?? Buffer.allocUnsafe(this.chunkSize);
  }

  get full(): boolean {
    return this.queue.length >= IN_FLIGHT;
  }

  write(chunk: Buffer, length: number): void {
    const done = this.tail
      .then(() => this.writeAll(chunk, length))
      .then(() => {
        this.queue.shift();
        if (chunk.length === this.chunkSize) this.spare.push(chunk);
      });
    // Marked handled here; the failure reaches whoever awaits drain() or close().
    done.catch(() => undefined);
    this.tail = done;
    this.queue.push(done);
  }

  async drain(): Promise<void> {
    while (this.queue.length >= IN_FLIGHT) await this.queue[0];
  }

  async close(): Promise<void> {
    try {
      await this.tail;
    } finally {
      await this.handle.close();
    }
  }

  private async writeAll(chunk: Buffer, length: number): Promise<void> {
    let done = 0;
    try {
      while (done < length) {
        const { bytesWritten } = await this.handle.write(chunk, done, length - done);
        done += bytesWritten;
      }
    } catch (cause) {
      throw new AppError(ErrorCode.StorageIo, `${this.name}: write failed`, { cause });
    }
  }
}

/** Any {@link ByteSink}: it keeps each chunk, so every chunk is a new one. */
class HandOverSink implements ChunkSink {
  readonly name: string;
  private readonly sink: ByteSink;
  private readonly chunkSize: number;

  constructor(sink: ByteSink, chunkSize: number) {
    this.sink = sink;
    this.name = sink.name;
    this.chunkSize = chunkSize;
  }

  take(): Buffer {
    return Buffer.allocUnsafe(this.chunkSize);
  }

  get full(): boolean {
    return this.sink.full;
  }

  write(chunk: Buffer, length: number): void {
    this.sink.write(chunk.subarray(0, length));
  }

  drain(): Promise<void> {
    return this.sink.drain();
  }

  close(): Promise<void> {
    return this.sink.close();
  }
}

/**
 * A chunk sink for `target`: a path is created (or truncated) and gets recycled chunks; a file
 * descriptor, Writable or ByteSink is wrapped as the format layer would.
 */
export async function toChunkSink(target: WriteTarget, chunkSize: number): Promise<ChunkSink> {
  if (typeof target !== "string") return new HandOverSink(await toByteSink(target), chunkSize);
  try {
    return new RecyclingFileSink(await open(target, "w"), target, chunkSize);
  } catch (cause) {
    throw new AppError(ErrorCode.StorageIo, `${target}: cannot create`, { cause });
  }
}
