/**
 * One inotify watch (`fs.watch`, not recursive: Linux has no recursive inotify) per directory of
 * the stores. Events only say "something happened to NAME in DIR"; the catalogue looks at the
 * path itself. A watch that fails (its directory deleted) is dropped; the periodic rescan puts
 * watches back on directories that exist again.
 */
import { type FSWatcher, watch } from "node:fs";
import { join, sep } from "node:path";
import type { Logger } from "@pcapfleet/core";
import type { FoundDir } from "@pcapfleet/pcap/query";

/** Called for an event on `path` (a name inside a watched directory at level `dirDepth`). */
export type DirEventHandler = (path: string, dirDepth: number) => void;

/** The set of directory watches; see the module comment. */
export class DirWatchers {
  private readonly watchers = new Map<string, { watcher: FSWatcher; depth: number }>();

  constructor(
    private readonly onEvent: DirEventHandler,
    private readonly log: Logger,
  ) {}

  /** Directories watched now. */
  get size(): number {
    return this.watchers.size;
  }

  /** Watches `dir` unless it is watched already. */
  add(dir: FoundDir): void {
    if (this.watchers.has(dir.path)) return;
    let watcher: FSWatcher;
    try {
      // Not persistent: the watches alone must not keep the process alive.
      watcher = watch(dir.path, { persistent: false }, (_event, name) => {
        if (name !== null) this.onEvent(join(dir.path, name.toString()), dir.depth);
      });
    } catch (error) {
      this.log.debug({ err: error, dir: dir.path }, "cannot watch directory");
      return;
    }
    watcher.on("error", (error) => {
      this.log.debug({ err: error, dir: dir.path }, "directory watch ended");
      this.drop(dir.path);
    });
    this.watchers.set(dir.path, { watcher, depth: dir.depth });
  }

  /** Keeps exactly the watches of `dirs` (a full rescan's view), adding missing ones. */
  reconcile(dirs: readonly FoundDir[]): void {
    const keep = new Set(dirs.map((d) => d.path));
    for (const path of [...this.watchers.keys()]) if (!keep.has(path)) this.drop(path);
    for (const dir of dirs) this.add(dir);
  }

  /** Drops the watches of `path` and of every directory below it. */
  dropTree(path: string): void {
    const prefix = path.endsWith(sep) ? path : `${path}${sep}`;
    for (const dir of [...this.watchers.keys()]) {
      if (dir === path || dir.startsWith(prefix)) this.drop(dir);
    }
  }

  /** Closes every watch. */
  close(): void {
    for (const path of [...this.watchers.keys()]) this.drop(path);
  }

  private drop(path: string): void {
    const entry = this.watchers.get(path);
    if (entry === undefined) return;
    this.watchers.delete(path);
    entry.watcher.close();
  }
}
