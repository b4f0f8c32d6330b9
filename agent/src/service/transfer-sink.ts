/**
 * The slice worker's output: a ByteSink that hashes every byte of the slice and hands it to the
 * main thread by transferring the memory (no copy).
 *
 * The engine's ChunkedOutput lends its output buffers ({@link TransferSink.lend}): each full
 * buffer's ArrayBuffer moves to the main thread, which transfers it back once gRPC has copied
 * the bytes out; the loan then resolves with a new Buffer over the same memory and the engine
 * fills it again. At most the engine's IN_FLIGHT buffers are out, so the slice runs that far
 * ahead of the stream and no further. A buffer whose ArrayBuffer may be shared (a small Buffer
 * from Node's pool, a view into something larger) is copied instead and the copy kept by the
 * main thread, so a transfer can never detach memory the worker still uses.
 *
 * Once the call is cancelled (the shared flag or a `cancel` message) or the sink failed, it is
 * `full`, `drain()` rejects, and every loan still out rejects: the engine stops producing.
 */
import { createHash, type Hash } from "node:crypto";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import type { ByteSink } from "@pcapfleet/pcap";
import { CONTROL_CANCEL, type FromWorker } from "./slice-protocol.js";

/** Where `data` messages go: a worker's parentPort or a MessagePort. */
export interface DataPort {
  postMessage(message: FromWorker, transfer: ArrayBuffer[]): void;
}

/** Ids of loans: unique in the thread, so a buffer returned after its slice ended is ignored. */
let nextLoan = 0;

interface Loan {
  readonly resolve: (buffer: Buffer) => void;
  readonly reject: (error: AppError) => void;
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
  private readonly loans = new Map<number, Loan>();
  private failure: AppError | null = null;

  /** A sink posting to `port`; `control` carries the cancel flag. */
  constructor(port: DataPort, control: Int32Array) {
    this.port = port;
    this.control = control;
  }

  /** True when the slice should stop: the call was cancelled or the sink failed. */
  get full(): boolean {
    return this.failure !== null || this.cancelled;
  }

  /** True once the main thread set the shared cancel flag. */
  get cancelled(): boolean {
    return Atomics.load(this.control, CONTROL_CANCEL) !== 0;
  }

  /** Buffers lent and not yet returned. */
  get lent(): number {
    return this.loans.size;
  }

  /**
   * Hashes `chunk[0, length)` and lends the buffer to the main thread; resolves with the
   * returned memory. A buffer that cannot move is copied and resolves at once (undefined: the
   * engine keeps `chunk`).
   */
  lend(chunk: Buffer, length: number): Promise<Buffer | undefined> {
    if (this.cancelled) this.fail(cancelled());
    if (this.failure !== null) return Promise.reject(this.failure);
    if (length === 0) return Promise.resolve(undefined);
    if (!movable(chunk)) {
      this.write(chunk.subarray(0, length));
      return Promise.resolve(undefined);
    }
    this.hash.update(chunk.subarray(0, length));
    this.total += length;
    const id = nextLoan++;
    // `buffer` is an ArrayBuffer for Buffers Node allocates (never a SharedArrayBuffer here).
    const buffer = chunk.buffer as ArrayBuffer;
    const loan = new Promise<Buffer>((resolve, reject) => this.loans.set(id, { resolve, reject }));
    this.port.postMessage({ type: "data", id, buffer, length }, [buffer]);
    return loan;
  }

  /** Hashes `chunk` and sends it for the main thread to keep (transferred when it can move, else copied). */
  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.hash.update(chunk);
    this.total += chunk.length;
    const buffer = movable(chunk) ? (chunk.buffer as ArrayBuffer) : new Uint8Array(chunk).buffer;
    this.port.postMessage({ type: "data", id: -1, buffer, length: chunk.length }, [buffer]);
  }

  /** The main thread gave back the buffer of loan `id`; unknown ids (an ended slice's) are ignored. */
  returned(id: number, buffer: ArrayBuffer): void {
    const loan = this.loans.get(id);
    if (loan === undefined) return;
    this.loans.delete(id);
    loan.resolve(Buffer.from(buffer));
  }

  /** Resolves at once while the slice may go on; rejects once the call is cancelled or the sink failed. */
  drain(): Promise<void> {
    if (this.cancelled) this.fail(cancelled());
    return this.failure === null ? Promise.resolve() : Promise.reject(this.failure);
  }

  /** Nothing is buffered here: every write was posted at once. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Stops the producer: `drain()` and every loan still out reject with `error`. */
  fail(error: AppError): void {
    this.failure ??= error;
    for (const loan of this.loans.values()) loan.reject(this.failure);
    this.loans.clear();
  }

  /** Lowercase hex SHA-256 of everything written; call once, after the slice finished. */
  digest(): string {
    return this.hash.digest("hex");
  }
}

/** True when `chunk` is the whole of an ArrayBuffer of its own (Node's pool is never one). */
function movable(chunk: Buffer): boolean {
  return chunk.byteOffset === 0 && chunk.buffer.byteLength === chunk.length && chunk.length > Buffer.poolSize;
}

/** The error a cancelled slice ends with (the same as the main thread's, see chunk-queue.ts). */
export function cancelled(): AppError {
  return new AppError(ErrorCode.Cancelled, "slice cancelled");
}
