/**
 * Listing a store directory: regular files and directories up to `MAX_STORE_DEPTH` levels, as
 * scanStores does, plus what the live catalogue needs on top: the directories to watch and the
 * state of the store (missing, unreadable, subdirectories that could not be read).
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { MAX_STORE_DEPTH } from "@pcapfleet/pcap/query";
import { reasonOf } from "./file-probe.js";

/** A regular file found in a store (not yet known to be a capture). */
export interface FoundFile {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: bigint;
  readonly dev: bigint;
}

/** A directory of a store, with its level (the store itself is 0). */
export interface FoundDir {
  readonly path: string;
  readonly depth: number;
}

/** What a walk found. */
export interface StoreWalk {
  /** "missing": the store does not exist; "unreadable": it cannot be listed (or is no directory). */
  readonly state: "ok" | "missing" | "unreadable";
  /** Why the state is not ok. */
  readonly error: string;
  readonly dirs: FoundDir[];
  readonly files: FoundFile[];
  /** Subdirectories that could not be listed: "path: reason". */
  readonly problems: string[];
}

/** Walks the store rooted at `root`; never rejects. */
export async function walkStore(root: string): Promise<StoreWalk> {
  const walk: StoreWalk = { state: "ok", error: "", dirs: [], files: [], problems: [] };
  try {
    const st = await stat(root);
    if (!st.isDirectory()) return { ...walk, state: "unreadable", error: `${root}: not a directory` };
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    return { ...walk, state: missing ? "missing" : "unreadable", error: `${root}: ${reasonOf(error)}` };
  }
  await walkDir(root, 0, walk, new Set());
  if (walk.problems[0]?.startsWith(`${root}: `) === true) {
    return { ...walk, state: "unreadable", error: walk.problems[0], problems: walk.problems.slice(1) };
  }
  return walk;
}

/**
 * Adds the files and directories below `dir` (at level `depth`) to `out`. `seen` holds the
 * device:inode of directories visited, so symlinked directories are followed once.
 */
export async function walkDir(
  dir: string,
  depth: number,
  out: Pick<StoreWalk, "dirs" | "files" | "problems">,
  seen: Set<string>,
): Promise<void> {
  const st = await stat(dir, { bigint: true }).catch(() => undefined);
  if (st === undefined) return;
  const key = `${st.dev}:${st.ino}`;
  if (seen.has(key)) return;
  seen.add(key);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    out.problems.push(`${dir}: ${reasonOf(error)}`);
    return;
  }
  out.dirs.push({ path: dir, depth });
  names.sort();
  for (const name of names) {
    const path = join(dir, name);
    const entry = await stat(path, { bigint: true }).catch(() => undefined);
    // Gone meanwhile (a ring deleting its oldest file) or a dangling link.
    if (entry === undefined) continue;
    if (entry.isDirectory()) {
      if (depth < MAX_STORE_DEPTH) await walkDir(path, depth + 1, out, seen);
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
