/**
 * Files of the result store written and hashed in one pass: task slices arrive in chunks and
 * the merge writes its output in chunks; each chunk goes to disk and into a SHA-256, so no file
 * is read again to be hashed (a 5 GB result would cost seconds more). Writes are sequential
 * through one FileHandle; the sink reports `full` while too much is queued, so a fast producer
 * waits for the disk instead of filling memory.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { AppError, ErrorCode } from "@pcapfleet/core";
import type { ByteSink } from "@pcapfleet/pcap";

/** Bytes queued before {@link HashingFile.full} turns true. */
const HIGH_WATER = 8 * 1024 * 1024;

/** A file being written from its current end, hashed as it grows; see the module comment. */
export class HashingFile implements ByteSink {
  readonly name: string;
  private readonly hash: Hash;
  private readonly handle: FileHandle;
  private position: number;
  private queued = 0;
  private tail: Promise<void> = Promise.resolve();
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
    this.tail = this.tail.then(async () => {
      if (this.failure !== undefined) return;
      try {
        let done = 0;
        while (done < chunk.length) {
          const { bytesWritten } = await this.handle.write(chunk, done, chunk.length - done);
          done += bytesWritten;
        }
      } catch (cause) {
        this.failure = new AppError(ErrorCode.StorageIo, `cannot write ${this.name}`, { cause });
      } finally {
        this.queued -= chunk.length;
      }
    });
  }

  /** Resolves once queued chunks are written; rejects with the first write failure. */
  async drain(): Promise<void> {
    await this.tail;
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
    await this.tail.catch(() => undefined);
    await this.handle.close().catch(() => undefined);
  }

  /** Lowercase hex SHA-256 of every byte of the file (the resumed part included). */
  digest(): string {
    return this.hash.copy().digest("hex");
  }
}
