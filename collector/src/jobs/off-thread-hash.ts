/**
 * SHA-256 computed on a worker thread, for the merge's output: the merge and the analysis keep
 * the collector's main thread busy, and hashing the result there too (0.5–1 CPU s per GB) made a
 * broad job's merge phase wait for it. The bytes go to the worker through a few reused 1 MiB
 * buffers that travel to it and back (transferred, not cloned), so the copy is the only cost on
 * the main thread and nothing is allocated per chunk. Messages arrive in order, so the digest is
 * that of the bytes in the order given.
 */
import { Worker } from "node:worker_threads";
import { AppError, ErrorCode } from "@pcapfleet/core";

/** Bytes per buffer sent to the worker, and buffers in the pool. */
const SLOT_BYTES = 1024 * 1024;
const SLOTS = 4;

/** The worker: hashes what it is sent and sends the buffer back; an empty message asks the digest. */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const hash = createHash("sha256");
parentPort.on("message", (message) => {
  if (message.buffer === undefined) {
    parentPort.postMessage({ digest: hash.digest("hex") });
    return;
  }
  hash.update(new Uint8Array(message.buffer, 0, message.length));
  parentPort.postMessage({ buffer: message.buffer }, [message.buffer]);
});
`;

/** A SHA-256 fed from the main thread and computed on a worker; see the module comment. */
export class OffThreadHash {
  private readonly worker: Worker;
  private readonly free: ArrayBuffer[] = [];
  private readonly waiting: Array<(buffer: ArrayBuffer) => void> = [];
  private failure: Error | undefined;
  private digested: Promise<string> | undefined;
  private onDigest: ((hex: string) => void) | undefined;
  /** Rejections of the promises waiting on the worker. */
  private readonly onFailure = new Set<(error: Error) => void>();
  /** The worker was ended on purpose (digest given, or destroyed). */
  private ended = false;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    for (let i = 0; i < SLOTS; i++) this.free.push(new ArrayBuffer(SLOT_BYTES));
    this.worker.on("message", (message: { buffer?: ArrayBuffer; digest?: string }) => {
      if (message.buffer !== undefined) {
        const next = this.waiting.shift();
        if (next === undefined) this.free.push(message.buffer);
        else next(message.buffer);
      } else if (message.digest !== undefined) {
        this.onDigest?.(message.digest);
      }
    });
    const fail = (cause: unknown): void => {
      this.failure ??= new AppError(ErrorCode.Internal, "the SHA-256 worker thread failed", { cause });
      for (const reject of this.onFailure) reject(this.failure);
      this.onFailure.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => {
      if (!this.ended) fail(new Error(`exited with code ${code}`));
    });
    // After the listeners (a 'message' listener refs the worker again): a hash nobody finished
    // must not keep the process alive.
    this.worker.unref();
  }

  /**
   * Adds `bytes`; resolves once they were copied out, so the caller may reuse them. Calls must
   * not overlap (await each): the order of the bytes is the order of the calls.
   */
  async update(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length; ) {
      if (this.failure !== undefined) throw this.failure;
      const buffer = this.free.pop() ?? (await this.nextFree());
      const length = Math.min(SLOT_BYTES, bytes.length - at);
      new Uint8Array(buffer, 0, length).set(bytes.subarray(at, at + length));
      this.worker.postMessage({ buffer, length }, [buffer]);
      at += length;
    }
  }

  /** Lowercase hex SHA-256 of everything added; ends the worker. May be called more than once. */
  digest(): Promise<string> {
    this.digested ??= this.whenSettled<string>((resolve) => {
      this.onDigest = (hex) => {
        this.ended = true;
        resolve(hex);
        void this.worker.terminate();
      };
      this.worker.postMessage({});
    });
    return this.digested;
  }

  /** Ends the worker without a digest (a failed or cancelled merge). */
  destroy(): void {
    this.ended = true;
    this.failure ??= new AppError(ErrorCode.Cancelled, "the hash was abandoned");
    this.digested ??= Promise.reject(this.failure);
    this.digested.catch(() => undefined);
    void this.worker.terminate();
  }

  private nextFree(): Promise<ArrayBuffer> {
    return this.whenSettled<ArrayBuffer>((resolve) => this.waiting.push(resolve));
  }

  /** A promise settled by `start`'s callback, or rejected when the worker fails first. */
  private whenSettled<T>(start: (resolve: (value: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.failure !== undefined) {
        reject(this.failure);
        return;
      }
      this.onFailure.add(reject);
      start((value) => {
        this.onFailure.delete(reject);
        resolve(value);
      });
    });
  }
}
