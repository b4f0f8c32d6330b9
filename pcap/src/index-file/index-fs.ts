/**
 * The file operations of reading an index for a query, in two flavours behind one interface:
 * through the libuv thread pool (the default: a server's event loop never waits on a disk), or
 * synchronous (for CLIs and batch work). Opening an index for a query takes about ten small
 * operations per capture file (real path, stats, the index's meta and lists, the capture's
 * fingerprint); through the thread pool each costs a round trip of tens of microseconds, and
 * more in a process that just started, which for a store of many files is most of an indexed
 * selective slice. Synchronous ones cost a few microseconds from the page cache.
 */
import type { BigIntStats } from "node:fs";
import { closeSync, openSync, readSync, realpathSync, statSync } from "node:fs";
import { open, realpath, stat } from "node:fs/promises";

/** An open file read at positions. */
export interface RandomAccess {
  /** Reads up to `length` bytes at `position` into `target` at `offset`; fewer at the end of the file. */
  read(target: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Closes the file; calling it again does nothing. */
  close(): Promise<void>;
}

/** The operations reading an index needs. Failures reject with Node's errors (`code` set). */
export interface IndexFs {
  realpath(path: string): Promise<string>;
  stat(path: string): Promise<BigIntStats>;
  open(path: string): Promise<RandomAccess>;
}

/** Through the libuv thread pool. */
export const asyncIndexFs: IndexFs = {
  realpath: (path) => realpath(path),
  stat: (path) => stat(path, { bigint: true }),
  async open(path) {
    const handle = await open(path, "r");
    let closed = false;
    return {
      read: async (target, offset, length, position) =>
        (await handle.read(target, offset, length, position)).bytesRead,
      close: async () => {
        if (closed) return;
        closed = true;
        await handle.close();
      },
    };
  },
};

/** On the calling thread: for CLIs and batch work (a slow disk blocks the event loop). */
export const syncIndexFs: IndexFs = {
  // The native realpath(3): one system call, where the JS one lstat()s every path component.
  realpath: (path) => attempt(() => realpathSync.native(path)),
  stat: (path) => attempt(() => statSync(path, { bigint: true })),
  open: (path) =>
    attempt(() => {
      const fd = openSync(path, "r");
      let closed = false;
      const file: RandomAccess = {
        read: (target, offset, length, position) =>
          attempt(() => readSync(fd, target, offset, length, position)),
        close: () =>
          attempt(() => {
            if (closed) return;
            closed = true;
            closeSync(fd);
          }),
      };
      return file;
    }),
};

/** The result of `run` as a settled promise (a throw becomes a rejection). */
function attempt<T>(run: () => T): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (error) {
    return Promise.reject(error);
  }
}
