/**
 * Retention of a ring: while the filesystem is fuller than allowed, or files are older than
 * allowed, the oldest closed files of this capture are deleted. The file being written, files
 * still closing, pinned files (a slice is reading them) and files of other writers are never
 * touched.
 */
import { unlink } from "node:fs/promises";
import type { Logger } from "pino";
import { listRingFiles, type RingFile } from "./ring-files.js";

/** Percent (0–100) of the filesystem holding `dir` in use, as df shows it. */
export type DiskPercentProbe = (dir: string) => Promise<number>;

/** What one retention pass needs. */
export interface RetentionTarget {
  readonly dir: string;
  readonly prefix: string;
  readonly maxDiskPercent: number;
  /** Undefined: no age limit. */
  readonly maxAgeHours: number | undefined;
  /** Files being written or closing. */
  readonly openPaths: ReadonlySet<string>;
}

/** Dependencies of {@link createRetention}. */
export interface RetentionDeps {
  readonly isPinned: (path: string) => boolean;
  readonly diskPercent: DiskPercentProbe;
  readonly now: () => number;
  readonly log: Logger;
}

/** What a retention pass did. */
export interface RetentionResult {
  readonly deleted: readonly string[];
  readonly deletedBytes: number;
  /** Pinned files skipped although the rules would have deleted them. */
  readonly pinnedSkipped: readonly string[];
  /** The disk stayed over its limit with nothing left this capture may delete. */
  readonly overLimit: boolean;
}

/** Retention of one capture; passes never overlap. */
export interface Retention {
  run(target: RetentionTarget): Promise<RetentionResult>;
}

/** Creates the retention of one capture; it remembers which pins it has already logged. */
export function createRetention(deps: RetentionDeps): Retention {
  const loggedPins = new Set<string>();
  let overLimitLogged = false;

  const pass = async (target: RetentionTarget): Promise<RetentionResult> => {
    const deleted: string[] = [];
    const pinnedSkipped: string[] = [];
    let deletedBytes = 0;
    const files = (await listRingFiles(target.dir, target.prefix)).filter(
      (file) => !target.openPaths.has(file.path),
    );
    const maxAgeMs = target.maxAgeHours === undefined ? undefined : target.maxAgeHours * 3_600_000;
    const tooOld = (file: RingFile): boolean =>
      maxAgeMs !== undefined && deps.now() - file.mtimeMs > maxAgeMs;
    let overDisk = (await deps.diskPercent(target.dir)) > target.maxDiskPercent;
    const stillPinned = new Set<string>();
    for (const file of files) {
      // Oldest first: once the disk is fine and a file is young enough, the later ones are too.
      if (!overDisk && !tooOld(file)) break;
      if (deps.isPinned(file.path)) {
        pinnedSkipped.push(file.path);
        stillPinned.add(file.path);
        if (!loggedPins.has(file.path)) {
          loggedPins.add(file.path);
          deps.log.warn(
            { path: file.path, bytes: file.sizeBytes },
            "retention skips a pinned ring file: a running slice holds its space",
          );
        }
        continue;
      }
      try {
        await unlink(file.path);
        deleted.push(file.path);
        deletedBytes += file.sizeBytes;
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code !== "ENOENT") {
          deps.log.error({ path: file.path, err: cause }, "retention cannot delete a ring file");
        }
        continue;
      }
      if (overDisk) overDisk = (await deps.diskPercent(target.dir)) > target.maxDiskPercent;
    }
    // Forget pins that were released, so a later pin of the same file is logged again.
    for (const path of loggedPins) if (!stillPinned.has(path)) loggedPins.delete(path);
    if (deleted.length > 0) {
      deps.log.info(
        { files: deleted.length, bytes: deletedBytes, dir: target.dir },
        "retention deleted old ring files",
      );
    }
    if (overDisk && !overLimitLogged) {
      deps.log.warn(
        { dir: target.dir, maxDiskPercent: target.maxDiskPercent },
        "ring filesystem over its limit and this capture has no more files it may delete",
      );
    }
    overLimitLogged = overDisk;
    return { deleted, deletedBytes, pinnedSkipped, overLimit: overDisk };
  };

  let running: Promise<RetentionResult> | undefined;
  return {
    async run(target) {
      // A pass requested while one runs waits for it and then runs again: rotation may have
      // closed a file the running pass did not see.
      while (running !== undefined) await running.catch(() => undefined);
      running = pass(target);
      try {
        return await running;
      } finally {
        running = undefined;
      }
    },
  };
}
