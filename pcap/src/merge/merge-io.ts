/**
 * The merge's file I/O.
 *
 * Inputs are opened in one of two read modes, measured on 3-input merges to tmpfs:
 * - async (default): the format layer's reader, reads on the libuv thread pool. The event loop
 *   never waits on a disk, which is what a server (the collector) needs.
 * - sync: `readSync` on the calling thread. From the page cache a 1 MiB read takes ~0.1 ms,
 *   and the thread pool is left to the output's writes: 0.41 s instead of 0.47 s (interleaved
 *   inputs, 900 MB), 0.19 s instead of 0.21 s (consecutive files, 400 MB), medians of 9
 *   alternating runs. For CLIs and batch work: a cold disk blocks the event loop during a read.
 * A read-ahead source (the next block read into a spare buffer while the merge works) was
 * measured too: no faster than plain async reads (0.472 s vs 0.479 s, 0.208 s vs 0.207 s) for
 * twice the buffers, so it is not used.
 *
 * Output goes to a {@link ChunkSink}. The format layer's writers hand every chunk to their sink
 * for good and allocate a new one, which is right for sinks that keep the chunk (a stream,
 * memory). For a file the merge does better: chunks come back once written and are filled
 * again. Fresh 4 MiB chunks cost four times the copy time of recycled ones (first-touch page
 * faults, and the GC pressure of external memory), and a few chunks in flight let the kernel's
 * copy run on another core while the merge goes on.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { type FileHandle, open, stat } from "node:fs/promises";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import {
  type ByteSink,
  type CaptureReader,
  openCapture,
  openSource,
  type ReadSource,
  toByteSink,
  type WriteTarget,
} from "../format/index.js";

/** Smallest read buffer: a small file is still read in one go. */
const MIN_CHUNK = 4096;

/**
 * Opens `path` with a read buffer of `chunkSize` bytes, or the file's size when smaller: with
 * hundreds of small inputs, budget-sized buffers would mostly hold nothing. (A file that grows
 * meanwhile is still read whole: the reader enlarges its buffer for a record that needs it.)
 */
export async function openInput(path: string, chunkSize: number, sync: boolean): Promise<CaptureReader> {
  if (sync) {
    const fd = openFd(path);
    const size = statSize(() => fstatSync(fd).size, chunkSize);
    return openSource(syncFileSource(fd, path), { chunkSize: chunkFor(size, chunkSize) });
  }
  const size = await stat(path).then(
    (s) => s.size,
    () => chunkSize, // openCapture reports the problem in the engine's terms
  );
  return openCapture(path, { chunkSize: chunkFor(size, chunkSize) });
}

function chunkFor(size: number, chunkSize: number): number {
  return Math.max(MIN_CHUNK, Math.min(chunkSize, size));
}

function statSize(get: () => number, fallback: number): number {
  try {
    return get();
  } catch {
    return fallback;
  }
}

/** The error `openCapture` gives for a file it cannot open. */
function openError(path: string, cause: unknown): AppError {
  const missing = (cause as NodeJS.ErrnoException).code === "ENOENT";
  return new AppError(missing ? ErrorCode.NotFound : ErrorCode.StorageIo, `${path}: cannot open`, { cause });
}

function openFd(path: string): number {
  try {
    return openSync(path, "r");
  } catch (cause) {
    throw openError(path, cause);
  }
}

/** A {@link ReadSource} reading `fd` with `readSync`; errors as `openCapture` reports them. */
function syncFileSource(fd: number, path: string): ReadSource {
  return {
    name: path,
    read(target, offset, length, position) {
      try {
        return Promise.resolve(readSync(fd, target, offset, length, position));
      } catch (cause) {
        return Promise.reject(
          new AppError(ErrorCode.StorageIo, `${path}: read failed at offset ${position}`, { cause }),
        );
      }
    },
    close() {
      closeSync(fd);
      return Promise.resolve();
    },
  };
}

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

/**
 * A file written one chunk at a time, in order, its chunks recycled once written. (Writing each
 * chunk at its own offset, several at once, was measured too: no faster, as the kernel
 * serialises writes to one file anyway.)
 */
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
