/**
 * The threads Slice calls run in: each call gets a worker of its own, taken from a few kept
 * idle between calls. A fresh worker costs its start-up (a thread, an isolate, and loading the
 * PCAP engine's modules: tens of milliseconds, about what an indexed selective slice takes on
 * its own), so finished workers are kept for the next call; a call never waits for another's
 * worker, so concurrent calls keep running side by side as they did on the main thread, and
 * one slow call cannot hold up a quick one. Idle workers do not keep the process alive and exit
 * after a while; a worker that failed is never reused.
 */
import { type ResourceLimits, Worker } from "node:worker_threads";
import { AppError, ErrorCode } from "@pcapfleet/core";
import type { FromWorker, ToWorker } from "./slice-protocol.js";

/** Options of {@link createSliceWorkers}. */
export interface SliceWorkersOptions {
  /** The worker's entry module. Default: `slice-worker.js` beside this module (dist/). */
  readonly entry: URL;
  /** Workers kept idle for later calls. Default 2. */
  readonly maxIdle: number;
  /** An idle worker exits after this many milliseconds. Default 60 000. */
  readonly idleMs: number;
  /** Heap limits of each worker (worker_threads `resourceLimits`). Default: Node's. */
  readonly resourceLimits: ResourceLimits | undefined;
}

/** One worker thread, with the handlers of the slice using it. */
export class SliceWorker {
  /** The running slice's handlers; null while the worker is idle. */
  onMessage: ((message: FromWorker) => void) | null = null;
  onExit: ((code: number, failure: unknown) => void) | null = null;
  /** True once the thread is gone. */
  exited = false;
  private readonly thread: Worker;
  /** The uncaught error that ended the thread, if one did. */
  private failure: unknown = null;

  constructor(entry: URL, resourceLimits: ResourceLimits | undefined) {
    this.thread = new Worker(entry, resourceLimits === undefined ? {} : { resourceLimits });
    this.thread.on("message", (message: FromWorker) => this.onMessage?.(message));
    // Without a listener, an error in the worker would be thrown in the main thread.
    this.thread.on("error", (error: unknown) => {
      this.failure ??= error;
    });
    this.thread.on("exit", (code: number) => {
      this.exited = true;
      this.onExit?.(code, this.failure);
    });
  }

  /** Sends `message` (a SharedArrayBuffer in it is shared, not copied; `transfer` moves). */
  post(message: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (!this.exited) this.thread.postMessage(message, transfer);
  }

  /** Stops the thread at once (even mid-slice); `onExit` follows. */
  terminate(): Promise<number> {
    return this.thread.terminate();
  }

  /** Whether the thread keeps the process alive: only while it runs a slice. */
  hold(held: boolean): void {
    if (held) this.thread.ref();
    else this.thread.unref();
  }
}

/** The pool; see the module comment. */
export interface SliceWorkers {
  /** A worker for one slice: an idle one, else a new one. `unavailable` once closed. */
  acquire(): SliceWorker;
  /** Gives `worker` back: kept idle when `healthy` and there is room, else stopped. */
  release(worker: SliceWorker, healthy: boolean): void;
  /** True once {@link SliceWorkers.close} was called. */
  readonly closed: boolean;
  /** Workers idle now. */
  readonly idle: number;
  /** Stops every worker, busy ones too (their slices fail); later calls are `unavailable`. */
  close(): Promise<void>;
}

/** Creates a pool of slice workers; see the module comment. */
export function createSliceWorkers(options: Partial<SliceWorkersOptions> = {}): SliceWorkers {
  const entry = options.entry ?? new URL("./slice-worker.js", import.meta.url);
  const maxIdle = options.maxIdle ?? 2;
  const idleMs = options.idleMs ?? 60_000;
  const limits = options.resourceLimits;
  const idle = new Map<SliceWorker, NodeJS.Timeout>();
  const busy = new Set<SliceWorker>();
  let closed = false;

  const retire = (worker: SliceWorker): void => {
    const timer = idle.get(worker);
    if (timer !== undefined) clearTimeout(timer);
    idle.delete(worker);
    busy.delete(worker);
    if (!worker.exited) void worker.terminate();
  };

  return {
    acquire() {
      if (closed) throw new AppError(ErrorCode.Unavailable, "the agent is shutting down");
      let worker: SliceWorker | undefined;
      for (const candidate of idle.keys()) {
        clearTimeout(idle.get(candidate));
        idle.delete(candidate);
        if (!candidate.exited) {
          worker = candidate;
          break;
        }
      }
      worker ??= new SliceWorker(entry, limits);
      worker.hold(true);
      busy.add(worker);
      return worker;
    },
    release(worker, healthy) {
      busy.delete(worker);
      worker.onMessage = null;
      worker.onExit = null;
      if (!healthy || closed || worker.exited || idle.size >= maxIdle) {
        retire(worker);
        return;
      }
      worker.hold(false);
      const timer = setTimeout(() => retire(worker), idleMs);
      timer.unref();
      idle.set(worker, timer);
    },
    get closed() {
      return closed;
    },
    get idle() {
      return idle.size;
    },
    async close() {
      closed = true;
      const all = [...idle.keys(), ...busy];
      for (const timer of idle.values()) clearTimeout(timer);
      idle.clear();
      busy.clear();
      await Promise.all(all.map((worker) => (worker.exited ? 0 : worker.terminate())));
    },
  };
}
