/**
 * The capture files of the stores as the catalogue currently knows them, kept current one path
 * at a time (watch events) or one store at a time (rescans): probing new files, updating grown
 * ones, remembering corrupt files (logged once each) and files that are not captures (not probed
 * again until they change), and counting the bytes written for the ingest rate.
 */
import type { Logger } from "@pcapfleet/core";
import {
  type CaptureFile,
  compareFiles,
  type FoundFile,
  probeCaptureFile,
  reasonOf,
} from "@pcapfleet/pcap/query";

/** A catalogued capture and the store (index in the configuration) it was found in. */
export interface TrackedFile {
  readonly file: CaptureFile;
  readonly store: number;
}

/** A file that cannot be used. */
export interface CorruptFile {
  readonly store: number;
  readonly identity: string;
  readonly reason: string;
}

/** What changed when a path was looked at. */
export type Change = "none" | "grown" | "set";

/** See the module comment. */
export class FileSet {
  readonly tracked = new Map<string, TrackedFile>();
  readonly corrupt = new Map<string, CorruptFile>();
  /** Files found not to be captures, by path, with the identity they had then. */
  private readonly others = new Map<string, string>();
  /** Corrupt files already logged (device:inode:path), so a rescan does not log them again. */
  private readonly logged = new Set<string>();
  /** Path of each catalogued device:inode: a file reached twice (links, nested stores) is listed once. */
  private readonly byInode = new Map<string, string>();
  private sorted: CaptureFile[] | undefined;

  constructor(
    private readonly log: Logger,
    /** Called with bytes written to a store (growth and new files after the first scan). */
    private readonly onWritten: (store: number, bytes: number) => void,
  ) {}

  /** The captures in merge order. */
  files(): readonly CaptureFile[] {
    if (this.sorted === undefined) {
      this.sorted = [...this.tracked.values()].map((t) => t.file).sort(compareFiles);
    }
    return this.sorted;
  }

  /**
   * Brings `found` (a regular file of `store`) up to date. `counted`: whether new bytes count as
   * written (false for the first scan, which finds what was there before the agent).
   */
  async update(found: FoundFile, store: number, counted: boolean): Promise<Change> {
    const identity = `${found.dev}:${found.ino}:${found.size}:${found.mtimeMs}`;
    const known = this.tracked.get(found.path);
    if (known !== undefined && known.file.ino === found.ino && known.file.dev === found.dev) {
      const file = known.file;
      if (file.size === found.size && file.mtimeMs === found.mtimeMs && file.first !== undefined)
        return "none";
      if (file.first !== undefined) {
        if (counted) this.onWritten(store, found.size - file.size);
        this.tracked.set(found.path, { file: { ...file, size: found.size, mtimeMs: found.mtimeMs }, store });
        this.sorted = undefined;
        return "grown";
      }
      // No packet yet when probed: probe again, the first packet decides its place in the order.
    }
    if (this.corrupt.get(found.path)?.identity === identity || this.others.get(found.path) === identity) {
      return "none";
    }
    const owner = this.byInode.get(`${found.dev}:${found.ino}`);
    if (owner !== undefined && owner !== found.path && this.tracked.has(owner)) return "none";
    let file: CaptureFile | undefined;
    try {
      file = await probeCaptureFile(found.path);
    } catch (error) {
      this.markCorrupt(found.path, store, identity, reasonOf(error), `${found.dev}:${found.ino}`);
      return this.untrack(found.path) ? "set" : "none";
    }
    if (file === undefined) {
      this.others.set(found.path, identity);
      return this.untrack(found.path) ? "set" : "none";
    }
    this.corrupt.delete(found.path);
    this.others.delete(found.path);
    const grownFrom = known !== undefined && known.file.ino === file.ino ? known.file.size : 0;
    if (counted) this.onWritten(store, file.size - grownFrom);
    if (known !== undefined) this.byInode.delete(`${known.file.dev}:${known.file.ino}`);
    this.tracked.set(found.path, { file, store });
    this.byInode.set(`${file.dev}:${file.ino}`, found.path);
    this.sorted = undefined;
    return known === undefined || known.file.first === undefined || known.file.ino !== file.ino
      ? "set"
      : "grown";
  }

  /** Records that indexing found `path` unusable. */
  indexFailed(path: string, reason: string): void {
    const known = this.tracked.get(path);
    if (known === undefined) return;
    const f = known.file;
    this.markCorrupt(
      path,
      known.store,
      `${f.dev}:${f.ino}:${f.size}:${f.mtimeMs}`,
      reason,
      `${f.dev}:${f.ino}`,
    );
    this.untrack(path);
  }

  /** Forgets `path` (it is gone); true when it was a catalogued capture. */
  drop(path: string): boolean {
    const corrupt = this.corrupt.get(path);
    if (corrupt !== undefined) {
      this.corrupt.delete(path);
      this.logged.delete(`${corrupt.identity.split(":", 2).join(":")}:${path}`);
    }
    this.others.delete(path);
    return this.untrack(path);
  }

  /** Removes `path` from the captures; true when it was one. */
  private untrack(path: string): boolean {
    const known = this.tracked.get(path);
    if (known === undefined) return false;
    this.tracked.delete(path);
    if (this.byInode.get(`${known.file.dev}:${known.file.ino}`) === path) {
      this.byInode.delete(`${known.file.dev}:${known.file.ino}`);
    }
    this.sorted = undefined;
    return true;
  }

  /** Forgets what is not listed in `present` (paths found by a rescan), for stores `stores`. */
  retain(present: ReadonlySet<string>, stores: ReadonlySet<number>): string[] {
    const gone: string[] = [];
    for (const [path, t] of this.tracked) if (stores.has(t.store) && !present.has(path)) gone.push(path);
    for (const [path, c] of this.corrupt) if (stores.has(c.store) && !present.has(path)) this.drop(path);
    for (const path of this.others.keys()) if (!present.has(path)) this.others.delete(path);
    for (const path of gone) this.drop(path);
    return gone;
  }

  /** Catalogued captures and corrupt files below the directory `dir` (it was deleted). */
  pathsUnder(dir: string): string[] {
    const prefix = `${dir}/`;
    return [...this.tracked.keys(), ...this.corrupt.keys()].filter((p) => p.startsWith(prefix));
  }

  private markCorrupt(path: string, store: number, identity: string, reason: string, file: string): void {
    this.corrupt.set(path, { store, identity, reason });
    const key = `${file}:${path}`;
    if (this.logged.has(key)) return;
    this.logged.add(key);
    this.log.warn({ file: path, reason }, "corrupt capture file skipped");
  }
}
