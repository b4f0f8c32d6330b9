/**
 * Synchronous reads for a slice's files (`syncReads`, for CLIs and batch work). An indexed
 * selective slice reads tens of thousands of scattered candidate records; from the page cache a
 * `pread` costs about a microsecond, a round trip through the libuv thread pool ten or more, so
 * the record reads themselves dominate unless they are synchronous. A cold disk blocks the event
 * loop during each read, which a server must not accept: the library default stays asynchronous.
 *
 * A small read also fetches up to {@link READ_AHEAD} bytes past what was asked into a side
 * buffer (one `preadv`). A candidate run ends one byte into its last record (the reader returns a
 * record that starts before the end whole), so the rest of that record, asked for next, comes
 * from the side buffer instead of a second system call. (Classic pcap files take the candidate
 * fast path instead, see candidate-reads.ts; this serves pcapng files.) Scans read whole chunks
 * and need no read-ahead.
 */
import { closeSync, openSync, readSync, readvSync } from "node:fs";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import type { ReadSource } from "../format/chunk-buffer.js";

/**
 * Bytes read past each request: the rest of a full-size Ethernet record (1522 bytes with two
 * VLAN tags, plus its 16-byte header) fits. Larger records take a second read.
 */
export const READ_AHEAD = 1600;
/** Reads of this size or more get no read-ahead: scans, and runs of many candidates. */
const NO_AHEAD = 64 * 1024;

/** Plain synchronous positioned reads. */
export interface SyncReader {
  /**
   * Reads up to `length` bytes at file `position` into `target` at `offset`; fewer at the end of
   * the file. Throws a `storage_io` AppError when the read fails.
   */
  readAt(target: Buffer, offset: number, length: number, position: number): number;
}

/**
 * Opens `path` for synchronous reads. Fails as `openCapture` does: `not_found` for a missing file,
 * `storage_io` for any other failure.
 */
export function openSyncSource(path: string): ReadSource & SyncReader {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === "ENOENT";
    throw new AppError(missing ? ErrorCode.NotFound : ErrorCode.StorageIo, `${path}: cannot open`, { cause });
  }
  return syncFileSource(fd, path);
}

/** A source over `fd`, already open for reading (it owns it from here: closing it closes `fd`). */
export function syncFileSource(fd: number, name: string): ReadSource & SyncReader {
  return new SyncReadSource(fd, name);
}

/** A {@link ReadSource} over a file descriptor, read with `preadv` and a small read-ahead. */
class SyncReadSource implements ReadSource, SyncReader {
  readonly name: string;
  private fd: number;
  private readonly ahead = Buffer.allocUnsafe(READ_AHEAD);
  /** File offsets of the bytes held in `ahead`: `[aheadStart, aheadEnd)`. */
  private aheadStart = 0;
  private aheadEnd = 0;

  constructor(fd: number, name: string) {
    this.fd = fd;
    this.name = name;
  }

  read(target: Buffer, offset: number, length: number, position: number): Promise<number> {
    try {
      return Promise.resolve(this.readSync(target, offset, length, position));
    } catch (cause) {
      return Promise.reject(
        new AppError(ErrorCode.StorageIo, `${this.name}: read failed at offset ${position}`, { cause }),
      );
    }
  }

  readAt(target: Buffer, offset: number, length: number, position: number): number {
    try {
      return readSync(this.fd, target, offset, length, position);
    } catch (cause) {
      throw new AppError(ErrorCode.StorageIo, `${this.name}: read failed at offset ${position}`, { cause });
    }
  }

  close(): Promise<void> {
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      closeSync(fd);
    }
    return Promise.resolve();
  }

  private readSync(target: Buffer, offset: number, length: number, position: number): number {
    if (position >= this.aheadStart && position < this.aheadEnd) {
      // A reader may get fewer bytes than it asked for; it asks again for the rest.
      const n = Math.min(length, this.aheadEnd - position);
      const from = position - this.aheadStart;
      this.ahead.copy(target, offset, from, from + n);
      return n;
    }
    if (length >= NO_AHEAD) return readSync(this.fd, target, offset, length, position);
    const n = readvSync(this.fd, [target.subarray(offset, offset + length), this.ahead], position);
    if (n > length) {
      this.aheadStart = position + length;
      this.aheadEnd = position + n;
      return length;
    }
    // Nothing past the request: the end of the file (for now; it may still grow).
    this.aheadEnd = this.aheadStart;
    return n;
  }
}
