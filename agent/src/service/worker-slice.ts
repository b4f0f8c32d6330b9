/**
 * One slice run in a worker, seen from the main thread: starts it, feeds the output the worker
 * transfers into the call's {@link ChunkQueue}, gives each lent buffer back once gRPC has
 * copied all of its bytes into frames (see slice-protocol.ts), passes progress on, and settles
 * with the worker's result or its error (the AppError the slice failed with, as if it had run
 * here). A worker that dies (an uncaught error, out of memory, terminated) fails the slice with
 * `internal`, or `unavailable` when the agent is shutting down; the thread is not reused.
 *
 * The worker lends a few buffers at a time (the engine's IN_FLIGHT), so it runs at most that
 * far ahead of what gRPC has taken: enough to fill the next buffer while the main thread sends
 * the last, and a bound on memory whatever the reader's pace.
 */
import { AppError, ErrorCode } from "@pcapfleet/core";
import type { SliceProgress } from "@pcapfleet/pcap";
import type { ChunkQueue } from "./chunk-queue.js";
import { CONTROL_CANCEL, CONTROL_SLOTS, fromWire, type SliceJob, type WireResult } from "./slice-protocol.js";
import type { SliceWorker, SliceWorkers } from "./slice-workers.js";

/** After a cancel, time the worker gets to stop on its own before it is terminated. */
const STOP_GRACE_MS = 10_000;

/** What a finished slice reports. */
export interface FinishedSlice {
  readonly result: WireResult;
  /** Lowercase hex SHA-256 of the whole output. */
  readonly sha256: string;
}

/** A slice running in a worker; see the module comment. */
export interface WorkerSliceRun {
  /** The slice's result; rejects with its AppError (`cancelled` after {@link cancel}). */
  readonly result: Promise<FinishedSlice>;
  /** Resolves once the worker stopped reading (done, failed, cancelled or gone); never rejects. */
  readonly ended: Promise<void>;
  /** Stops the slice; `error` is what the queue and the result fail with. */
  cancel(error: AppError): void;
}

/** Starts `job` in a worker of `workers`, its output going into `queue`. */
export function runInWorker(
  workers: SliceWorkers,
  job: SliceJob,
  queue: ChunkQueue,
  onProgress: (progress: SliceProgress) => void,
): WorkerSliceRun {
  const worker: SliceWorker = workers.acquire();
  const shared = new SharedArrayBuffer(CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT);
  const control = new Int32Array(shared);
  let settled = false;
  let grace: NodeJS.Timeout | undefined;
  let resolveResult: (finished: FinishedSlice) => void = () => undefined;
  let rejectResult: (error: AppError) => void = () => undefined;
  const result = new Promise<FinishedSlice>((resolve, reject) => {
    resolveResult = resolve;
    rejectResult = reject;
  });
  // The caller awaits it only on success paths; a failure is reported through the queue too.
  result.catch(() => undefined);
  let markEnded: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => {
    markEnded = resolve;
  });

  const finish = (outcome: FinishedSlice | AppError, healthy: boolean): void => {
    if (settled) return;
    settled = true;
    clearTimeout(grace);
    if (outcome instanceof AppError) {
      queue.fail(outcome);
      rejectResult(outcome);
    } else {
      queue.close();
      resolveResult(outcome);
    }
    workers.release(worker, healthy);
    markEnded();
  };

  worker.onMessage = (message) => {
    switch (message.type) {
      case "data": {
        const { id, buffer } = message;
        // A loan goes back once its bytes are in gRPC frames (a returned buffer arriving after
        // the slice ended is ignored by the worker); a kept copy is just queued.
        const giveBack = id < 0 ? undefined : () => worker.post({ type: "return", id, buffer }, [buffer]);
        queue.write(Buffer.from(buffer, 0, message.length), giveBack);
        break;
      }
      case "progress":
        onProgress(message.progress);
        break;
      case "done":
        finish({ result: message.result, sha256: message.sha256 }, true);
        break;
      case "failed":
        finish(fromWire(message.error), true);
        break;
    }
  };
  worker.onExit = (code, failure) => {
    const cause = failure ?? new Error(`slice worker exited with code ${code}`);
    finish(
      workers.closed
        ? new AppError(ErrorCode.Unavailable, "the agent is shutting down", { cause })
        : new AppError(ErrorCode.Internal, "the slice worker stopped", { cause }),
      false,
    );
  };
  worker.post({ type: "start", job, control: shared });

  return {
    result,
    ended,
    cancel(error) {
      if (settled) return;
      queue.fail(error);
      // The flag reaches a worker busy reading; the message one waiting for a buffer.
      Atomics.store(control, CONTROL_CANCEL, 1);
      worker.post({ type: "cancel" });
      grace ??= setTimeout(() => void worker.terminate(), STOP_GRACE_MS);
    },
  };
}
