/**
 * Is an index still about the file at its path? A capture may be replaced (rotation, another
 * file renamed over it), rewritten in place, truncated, or still growing. Only growth keeps an
 * index valid (for the prefix it covers), and only when the bytes it covers are unchanged:
 * identity (inode, device), size and mtime decide most cases, and CRCs of the first and last
 * indexed bytes catch a rewrite that kept the inode and grew the file.
 */
import type { BigIntStats } from "node:fs";
import { crc32 } from "node:zlib";
import type { IndexHeader } from "./index-data.js";
import { asyncIndexFs, type IndexFs, type RandomAccess } from "./index-fs.js";

/** Bytes hashed at each end of the indexed extent. */
const FINGERPRINT_BYTES = 4096;

/** CRCs of the start of the capture and of the bytes just before the indexed end. */
export interface Fingerprint {
  readonly headCrc: number;
  readonly headLength: number;
  readonly tailCrc: number;
  readonly tailLength: number;
}

/** How an index relates to the capture file as it is now. */
export type Freshness =
  /** Unchanged since indexing. */
  | "fresh"
  /** Grown by appending: the index is valid up to its indexed end; the rest is not indexed. */
  | "appended"
  /** Not this file any more (replaced, rewritten, truncated): the index must be discarded. */
  | "stale";

/** Fingerprints the capture at `path` for an index ending at `indexedEnd`. */
export async function fingerprint(
  path: string,
  indexedEnd: number,
  fs: IndexFs = asyncIndexFs,
): Promise<Fingerprint> {
  const headLength = Math.min(FINGERPRINT_BYTES, indexedEnd);
  const tailLength = Math.min(FINGERPRINT_BYTES, indexedEnd);
  const handle = await fs.open(path);
  try {
    return {
      headCrc: await rangeCrc(handle, 0, headLength),
      headLength,
      tailCrc: await rangeCrc(handle, indexedEnd - tailLength, tailLength),
      tailLength,
    };
  } finally {
    await handle.close();
  }
}

/** Compares an index header with the capture's current `stat` (bigint) and bytes. */
export async function checkFreshness(
  header: IndexHeader,
  path: string,
  st: BigIntStats,
  fs: IndexFs = asyncIndexFs,
): Promise<Freshness> {
  if (st.ino !== header.ino || st.dev !== header.dev) return "stale";
  const size = Number(st.size);
  if (size < header.size || size < header.indexedEnd) return "stale";
  // Same size, new mtime: written over in place (an append always changes the size).
  if (size === header.size && st.mtimeNs !== header.mtimeNs) return "stale";
  let now: Fingerprint;
  try {
    now = await fingerprint(path, header.indexedEnd, fs);
  } catch {
    return "stale";
  }
  if (
    now.headLength !== header.headLength ||
    now.headCrc !== header.headCrc ||
    now.tailLength !== header.tailLength ||
    now.tailCrc !== header.tailCrc
  ) {
    return "stale";
  }
  return size === header.size && st.mtimeNs === header.mtimeNs ? "fresh" : "appended";
}

async function rangeCrc(handle: RandomAccess, position: number, length: number): Promise<number> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const bytesRead = await handle.read(buf, got, length - got, position + got);
    // The file shrank meanwhile: -1 matches no CRC, so the index reads as stale.
    if (bytesRead === 0) return -1;
    got += bytesRead;
  }
  return crc32(buf);
}
