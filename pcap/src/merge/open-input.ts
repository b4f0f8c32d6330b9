/**
 * Opening a merge input file. Two read modes, measured on a 3 × 300 MB merge to tmpfs:
 *
 * - async (default): the format layer's reader, reads on the libuv thread pool. The event loop
 *   never waits on a disk, which is what a server (the collector) needs.
 * - sync: `readSync` on the calling thread. From the page cache a 1 MiB read takes ~0.1 ms,
 *   and the thread pool is left to the output writes, which bound a merge: median 0.53 s instead
 *   of 0.67 s. For CLIs and batch work; a cold disk blocks the event loop for each read.
 *
 * A read-ahead source (the next chunk read into a spare buffer while the merge works) was tried
 * too: no faster than plain async reads, since the writes, not the reads, are the bottleneck.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { stat } from "node:fs/promises";
import { AppError, ErrorCode } from "@pcapfleet/core";
import { type CaptureReader, openCapture, openSource, type ReadSource } from "../format/index.js";

/** Smallest read buffer: a small file is still read in one go. */
const MIN_CHUNK = 4096;

/**
 * Opens `path` with a read buffer of `chunkSize` bytes, or the file's size when smaller: with
 * hundreds of small inputs, budget-sized buffers would mostly hold nothing. (A file that grows
 * meanwhile is still read whole: the reader enlarges its buffer for a record that needs it.)
 */
export async function openInput(path: string, chunkSize: number, sync: boolean): Promise<CaptureReader> {
  const size = await stat(path).then(
    (s) => s.size,
    () => chunkSize, // the open below reports the problem in the engine's terms
  );
  const chunk = Math.max(MIN_CHUNK, Math.min(chunkSize, size));
  if (!sync) return openCapture(path, { chunkSize: chunk });
  return openSource(syncFileSource(path), { chunkSize: chunk });
}

/** A {@link ReadSource} reading with `readSync`; errors as `openCapture` reports them. */
function syncFileSource(path: string): ReadSource {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === "ENOENT";
    throw new AppError(missing ? ErrorCode.NotFound : ErrorCode.StorageIo, `${path}: cannot open`, { cause });
  }
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
