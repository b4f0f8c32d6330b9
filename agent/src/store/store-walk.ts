/**
 * Walking one store of the live catalogue: the engine's `walkStoreDir` listing, plus the state
 * the catalogue reports for the store (missing, unreadable, subdirectories that could not be
 * read).
 */
import { stat } from "node:fs/promises";
import {
  type FoundDir,
  type FoundFile,
  reasonOf,
  type StoreListing,
  walkStoreDir,
} from "@pcapfleet/pcap/query";

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
  const none: StoreWalk = { state: "ok", error: "", dirs: [], files: [], problems: [] };
  try {
    const st = await stat(root);
    if (!st.isDirectory()) return { ...none, state: "unreadable", error: `${root}: not a directory` };
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    return { ...none, state: missing ? "missing" : "unreadable", error: `${root}: ${reasonOf(error)}` };
  }
  const listing: StoreListing = { dirs: [], files: [], skipped: [] };
  await walkStoreDir(root, 0, listing, new Set());
  const problems = listing.skipped.map((skip) => `${skip.path}: ${skip.reason}`);
  const walk: StoreWalk = { state: "ok", error: "", dirs: listing.dirs, files: listing.files, problems };
  if (listing.skipped[0]?.path === root) {
    return { ...walk, state: "unreadable", error: problems[0] as string, problems: problems.slice(1) };
  }
  return walk;
}
