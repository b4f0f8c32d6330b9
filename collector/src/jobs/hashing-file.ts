/**
 * Files of the result store written and hashed in one pass: task slices arrive in chunks and
 * the merge writes its output in chunks; each chunk goes to disk and into a SHA-256, so no file
 * is read again to be hashed (a 5 GB result would cost seconds more). Writes are sequential
 * through one FileHandle; the sink reports `full` while too much is queued, so a fast producer
 * waits for the disk instead of filling memory.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream, WriteStream } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { AppError, ErrorCode } from "@pcapfleet/core";
import type { ByteSink } from "@pcapfleet/pcap";
import { OffThreadHash } from "./off-thread-hash.js";

/** Bytes queued before {@link HashingFile.full} turns true. */
const HIGH_WATER = 8 * 1024 * 1024;

/** A file being written from its current end, hashed as it grows; see the module comment. */
export class HashingFile implements ByteSink {
  readonly name: string;
  private readonly hash: Hash;
  private readonly handle: FileHandle;
  private position: number;
  private queued = 0;
  /** Chunks waiting for the disk, written together by one `writev` per round. */
  private waiting: Buffer[] = [];
  private writing: Promise<void> | undefined;
  private failure: AppError | undefined;

  private constructor(path: string, handle: FileHandle, hash: Hash, position: number) {
    this.name = path;
    this.handle = handle;
    this.hash = hash;
    this.position = position;
  }

  /**
   * Opens `path` for writing. With `resume`, bytes already in the file are kept (and hashed
   * first) and writing continues at its end; otherwise the file starts empty.
   */
  static async open(path: string, resume: boolean): Promise<HashingFile> {
    const hash = createHash("sha256");
    let handle: FileHandle;
    try {
      handle = await open(path, resume ? "a+" : "w");
    } catch (cause) {
      throw new AppError(ErrorCode.StorageIo, `cannot open ${path} for writing`, { cause });
    }
    let size = 0;
    if (resume) {
      try {
        size = (await handle.stat()).size;
        if (size > 0) {
          for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
            hash.update(chunk as Buffer);
          }
        }
      } catch (cause) {
        await handle.close();
        throw new AppError(ErrorCode.StorageIo, `cannot read ${path} to resume it`, { cause });
      }
    }
    return new HashingFile(path, handle, hash, size);
  }

  /** Bytes in the file once queued writes are done. */
  get size(): number {
    return this.position;
  }

  /** True while more than the high-water mark waits for the disk. */
  get full(): boolean {
    return this.queued >= HIGH_WATER;
  }

  /** Queues `chunk` (kept until written) and hashes it. */
  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.hash.update(chunk);
    this.position += chunk.length;
    this.queued += chunk.length;
    this.waiting.push(chunk);
    this.writing ??= this.flush();
  }

  /**
   * Writes queued chunks until none is left: everything queued so far in one `writev`, so a
   * fast producer costs one thread-pool round trip per batch rather than per chunk.
   */
  private async flush(): Promise<void> {
    try {
      while (this.waiting.length > 0 && this.failure === undefined) {
        const batch = this.waiting;
        this.waiting = [];
        let bytes = batch.reduce((n, b) => n + b.length, 0);
        try {
          let rest = batch;
          while (bytes > 0) {
            const { bytesWritten } = await this.handle.writev(rest);
            bytes -= bytesWritten;
            this.queued -= bytesWritten;
            rest = bytes > 0 ? unwritten(rest, bytesWritten) : [];
          }
        } catch (cause) {
          this.failure = new AppError(ErrorCode.StorageIo, `cannot write ${this.name}`, { cause });
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  /** Resolves once queued chunks are written; rejects with the first write failure. */
  async drain(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Writes what is queued, flushes to disk, closes. */
  async close(): Promise<void> {
    try {
      await this.drain();
      await this.handle.sync().catch(() => undefined);
    } finally {
      await this.handle.close().catch(() => undefined);
    }
  }

  /** Closes without caring about queued writes (a failed or cancelled task). */
  async abandon(): Promise<void> {
    await this.drain().catch(() => undefined);
    await this.handle.close().catch(() => undefined);
  }

  /** Lowercase hex SHA-256 of every byte of the file (the resumed part included). */
  digest(): string {
    return this.hash.copy().digest("hex");
  }
}

/** What is left of `chunks` after the first `written` bytes (a short `writev`). */
function unwritten(chunks: readonly Buffer[], written: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = written;
  for (const chunk of chunks) {
    if (skip >= chunk.length) {
      skip -= chunk.length;
      continue;
    }
    out.push(skip > 0 ? chunk.subarray(skip) : chunk);
    skip = 0;
  }
  return out;
}

/** `fs.WriteStream` with the (path, options) constructor it has at run time; @types/node omits it. */
const FileWriteStream = WriteStream as unknown as new (
  path: string,
  options: { flags: string; highWaterMark: number },
) => WriteStream;

/**
 * A file stream that hashes what passes through it, for outputs written by the PCAP engine: the
 * engine hands a `WriteStream` its chunks back once written (it reuses them), which a ByteSink
 * cannot do, so a multi-GB merge allocates a few buffers instead of one per MiB. The SHA-256 is
 * computed on a worker thread ({@link OffThreadHash}): each chunk is copied to it, then written,
 * so the hashing runs beside the producer instead of between its writes.
 */
export class HashingWriteStream extends FileWriteStream {
  private readonly hash = new OffThreadHash();

  constructor(path: string) {
    super(path, { flags: "w", highWaterMark: 4 * 1024 * 1024 });
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.hash.update(chunk).then(() => super._write(chunk, encoding, callback), callback);
  }

  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    const hashed = chunks.reduce<Promise<void>>(
      (previous, { chunk }) => previous.then(() => this.hash.update(chunk)),
      Promise.resolve(),
    );
    hashed.then(() => super._writev?.(chunks, callback), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A stream that ended normally keeps its worker until digest(); one destroyed early does not.
    if (error !== null || !this.writableFinished) this.hash.destroy();
    super._destroy(error, callback);
  }

  /** Destroys the stream and ends the hashing worker: an output given up on, finished or not. */
  abandon(): void {
    this.destroy();
    this.hash.destroy();
  }

  /** Lowercase hex SHA-256 of everything written (once the stream has finished). */
  digest(): Promise<string> {
    return this.hash.digest();
  }
}

/** Flushes a closed file's data to disk (fsync through a second descriptor). */
export async function syncFile(path: string): Promise<void> {
  const handle = await open(path, "r+");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
