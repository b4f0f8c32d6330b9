/**
 * The slice worker's output: a ByteSink that hashes every byte of the slice and hands each write
 * to the main thread by transferring its ArrayBuffer (no copy), as long as it holds a credit.
 * Out of credits, or once the call is cancelled, it is `full` and `drain()` waits for a credit
 * (or rejects with the cancellation), so the slice stops producing.
 *
 * The engine's chunked output gives a sink that keeps its chunks a freshly allocated buffer for
 * every write (1 MiB, `Buffer.allocUnsafe`, so not Node's shared pool) and never touches it
 * again: its whole ArrayBuffer can move to the main thread. A write whose ArrayBuffer may be
 * shared (a small Buffer from Node's pool, a view into something larger) is copied instead, so a
 * transfer can never detach memory the worker still uses.
 */
import { createHash, type Hash } from "node:crypto";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import type { ByteSink } from "@pcapfleet/pcap";
import { CONTROL_CANCEL, type FromWorker } from "./slice-protocol.js";

/** Where `data` messages go: a worker's parentPort or a MessagePort. */
export interface DataPort {
  postMessage(message: FromWorker, transfer: ArrayBuffer[]): void;
}

/** See the module comment. */
export class TransferSink implements ByteSink {
  /** For errors. */
  readonly name = "<grpc stream>";
  /** Bytes written so far. */
  total = 0;
  private readonly port: DataPort;
  private readonly control: Int32Array;
  private readonly hash: Hash = createHash("sha256");
  private credits: number;
  private failure: AppError | null = null;
  private wake: (() => void) | null = null;

  /** A sink posting to `port` with `credits` to start with; `control` carries the cancel flag. */
  constructor(port: DataPort, control: Int32Array, credits: number) {
    this.port = port;
    this.control = control;
    this.credits = credits;
  }

  /** True when the slice should wait: no credit left, or the call was cancelled. */
  get full(): boolean {
    return this.credits <= 0 || this.failure !== null || this.cancelled;
  }

  /** True once the main thread set the shared cancel flag. */
  get cancelled(): boolean {
    return Atomics.load(this.control, CONTROL_CANCEL) !== 0;
  }

  /** Hashes `chunk` and transfers it (or a copy, see the module comment) to the main thread. */
  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.hash.update(chunk);
    this.total += chunk.length;
    const own = chunk.byteOffset === 0 && chunk.buffer.byteLength > Buffer.poolSize;
    // `buffer` is an ArrayBuffer for Buffers Node allocates (never a SharedArrayBuffer here).
    const buffer = own ? (chunk.buffer as ArrayBuffer) : new Uint8Array(chunk).buffer;
    this.credits -= 1;
    this.port.postMessage({ type: "data", buffer, offset: 0, length: chunk.length }, [buffer]);
  }

  /** Resolves when a credit is available; rejects once the call is cancelled or the sink failed. */
  async drain(): Promise<void> {
    for (;;) {
      if (this.cancelled) this.fail(cancelled());
      if (this.failure !== null) throw this.failure;
      if (this.credits > 0) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Nothing is buffered here: every write was posted at once. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** The main thread returned `credits`. */
  credit(credits: number): void {
    this.credits += credits;
    this.wakeUp();
  }

  /** Stops the producer: a waiting or later `drain()` rejects with `error`. */
  fail(error: AppError): void {
    this.failure ??= error;
    this.wakeUp();
  }

  /** Lowercase hex SHA-256 of everything written; call once, after the slice finished. */
  digest(): string {
    return this.hash.digest("hex");
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/** The error a cancelled slice ends with (the same as the main thread's, see chunk-queue.ts). */
export function cancelled(): AppError {
  return new AppError(ErrorCode.Cancelled, "slice cancelled");
}
