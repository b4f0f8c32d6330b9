/**
 * Listing a store directory: the regular files (candidates for captures) and directories below
 * it, up to {@link MAX_STORE_DEPTH} levels, with the directories that could not be listed.
 * `scanStores` walks every store with it once; the agent's live catalogue walks with it on each
 * rescan and when a watched directory gains a subdirectory.
 */
import { type BigIntStats, readdirSync, statSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { SkippedFile } from "./catalogue.js";
import { reasonOf } from "./file-failure.js";

/** Directory levels searched below each store directory (the store itself is level 0). */
export const MAX_STORE_DEPTH = 4;

/** A regular file of at least 4 bytes found in a store (not yet known to be a capture). */
export interface FoundFile {
  /** The directory walked joined with the names below it. */
  readonly path: string;
  /** Size in bytes when listed. */
  readonly size: number;
  /** Modification time, milliseconds since the epoch. */
  readonly mtimeMs: number;
  /** Inode and device: one file reached twice (overlapping stores, links) can be told apart. */
  readonly ino: bigint;
  readonly dev: bigint;
}

/** A directory of a store, with its level (the store itself is 0). */
export interface FoundDir {
  readonly path: string;
  readonly depth: number;
}

/** What {@link walkStoreDir} adds to: the caller owns the arrays (one listing for several walks). */
export interface StoreListing {
  /** Directories listed, parents before their children. */
  readonly dirs: FoundDir[];
  /** Regular files, in name order per directory. */
  readonly files: FoundFile[];
  /** Directories that could not be listed, with the reason. */
  readonly skipped: SkippedFile[];
}

/**
 * Adds the files and directories below `dir` (at level `depth`) to `out`; never rejects. `seen`
 * holds the device:inode of directories visited, so symlinked directories are followed once
 * (loops end). A directory gone before it is listed is passed over: a ring deleting its oldest
 * files leaves nothing to slice there. With `sync` the system calls are made on the calling
 * thread (CLIs: a round trip through the thread pool per file costs more than the call).
 */
export async function walkStoreDir(
  dir: string,
  depth: number,
  out: StoreListing,
  seen: Set<string>,
  sync = false,
): Promise<void> {
  const st = await statOf(dir, sync);
  if (st === undefined) return;
  const key = `${st.dev}:${st.ino}`;
  if (seen.has(key)) return;
  seen.add(key);
  let names: string[];
  try {
    names = sync ? readdirSync(dir) : await readdir(dir);
  } catch (error) {
    out.skipped.push({ path: dir, reason: reasonOf(error) });
    return;
  }
  out.dirs.push({ path: dir, depth });
  names.sort();
  for (const name of names) {
    const path = join(dir, name);
    const entry = await statOf(path, sync);
    // Gone meanwhile (a ring deleting its oldest file) or a dangling link: nothing to slice.
    if (entry === undefined) continue;
    if (entry.isDirectory()) {
      if (depth < MAX_STORE_DEPTH) await walkStoreDir(path, depth + 1, out, seen, sync);
    } else if (entry.isFile() && entry.size >= 4n) {
      out.files.push({
        path,
        size: Number(entry.size),
        mtimeMs: Number(entry.mtimeMs),
        ino: entry.ino,
        dev: entry.dev,
      });
    }
  }
}

/** `stat` of `path`, undefined when it fails (gone, dangling link, no permission). */
async function statOf(path: string, sync: boolean): Promise<BigIntStats | undefined> {
  if (!sync) return stat(path, { bigint: true }).catch(() => undefined);
  try {
    return statSync(path, { bigint: true });
  } catch {
    return undefined;
  }
}
