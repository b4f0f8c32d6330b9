/**
 * The reader's I/O layer: one large reused Buffer filled by big positioned reads, with the
 * unfinished tail of a chunk carried to the buffer start so records can straddle chunk boundaries.
 */
import type { FileHandle } from "node:fs/promises";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { PcapFormatError } from "../types.js";

/** Where a reader's bytes come from: an open file, or bytes already in memory. */
export interface ReadSource {
  /** Name used in errors (the path, or a label for in-memory bytes). */
  readonly name: string;
  /** Reads up to `length` bytes at file `position` into `target` at `offset`; 0 means end of data (for now). */
  read(target: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** Releases the source. */
  close(): Promise<void>;
}

/** A {@link ReadSource} over an open file; I/O failures become `storage_io` errors naming the file. */
export function fileSource(handle: FileHandle, name: string): ReadSource {
  return {
    name,
    async read(target, offset, length, position) {
      try {
        const { bytesRead } = await handle.read(target, offset, length, position);
        return bytesRead;
      } catch (cause) {
        throw new AppError(ErrorCode.StorageIo, `${name}: read failed at offset ${position}`, { cause });
      }
    },
    close: () => handle.close(),
  };
}

/** A {@link ReadSource} over bytes in memory (a slice received over the network, a test capture). */
export function bufferSource(bytes: Uint8Array, name: string): ReadSource {
  return {
    name,
    read(target, offset, length, position) {
      const n = Math.max(0, Math.min(length, bytes.length - position));
      target.set(bytes.subarray(position, position + n), offset);
      return Promise.resolve(n);
    },
    close: () => Promise.resolve(),
  };
}

/**
 * One reusable buffer over a {@link ReadSource}. `buf[pos..end)` holds unread bytes whose file
 * offset is `base + pos`. Fields are public so parsers read them without accessor calls.
 */
export class ChunkBuffer {
  /** The buffer; replaced only when a record needs more room (at most up to {@link maxSize}). */
  buf: Buffer;
  /** File offset of `buf[0]`. */
  base = 0;
  /** Index of the next unread byte. */
  pos = 0;
  /** Index one past the last valid byte. */
  end = 0;
  /** Largest size the buffer may grow to: the largest legal record of the format. */
  maxSize: number;
  /** Reads stop here (file offset) unless a record needs bytes beyond it. */
  readLimit = Number.POSITIVE_INFINITY;
  private readonly source: ReadSource;

  /** Allocates the chunk buffer; it may later grow up to max(chunkSize, maxSize). */
  constructor(source: ReadSource, chunkSize: number, maxSize: number) {
    this.source = source;
    this.buf = Buffer.allocUnsafe(chunkSize);
    this.maxSize = Math.max(chunkSize, maxSize);
  }

  /** File offset of the next unread byte. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Moves to a file offset, keeping the buffered bytes when the offset falls inside them. */
  moveTo(offset: number): void {
    if (offset >= this.base && offset <= this.base + this.end) {
      this.pos = offset - this.base;
      return;
    }
    this.base = offset;
    this.pos = 0;
    this.end = 0;
  }

  /**
   * Makes at least `need` unread bytes available, reading as much as fits in one go so that a scan
   * costs one read per chunk. Returns false when the source ends first (a file still being written
   * may return more later, so nothing is remembered). The buffer only grows once it is full of
   * real data, doubling each time: a corrupt length field in a small file therefore cannot make
   * the reader allocate more than about twice the bytes that actually exist.
   */
  async fill(need: number): Promise<boolean> {
    if (this.end - this.pos >= need) return true;
    if (need > this.maxSize) {
      throw new PcapFormatError(this.source.name, this.offset, `record of ${need} bytes exceeds the maximum`);
    }
    if (this.pos > 0) this.compact();
    while (this.end < need) {
      if (this.end === this.buf.length) this.grow();
      const readPos = this.base + this.end;
      const room = this.buf.length - this.end;
      const wanted = Math.min(room, Math.max(need - this.end, this.readLimit - readPos));
      const n = await this.source.read(this.buf, this.end, wanted, readPos);
      if (n <= 0) return false;
      this.end += n;
    }
    return true;
  }

  /** Closes the source. */
  close(): Promise<void> {
    return this.source.close();
  }

  /** Copies the unread tail (less than one record) to the buffer start. */
  private compact(): void {
    this.buf.copyWithin(0, this.pos, this.end);
    this.base += this.pos;
    this.end -= this.pos;
    this.pos = 0;
  }

  /** Doubles the buffer (capped at maxSize); called with pos = 0, so everything buffered moves. */
  private grow(): void {
    const next = Buffer.allocUnsafe(Math.min(this.maxSize, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.end);
    this.buf = next;
  }
}
