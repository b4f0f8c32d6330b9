/**
 * The messages between a Slice call (main thread) and the slice worker that runs it
 * (slice-worker.ts), and the shared control word. One slice at a time per worker:
 *
 *   main → worker  `start` (the slice's options, the control word),
 *                  `return` (a lent output buffer comes back, transferred: fill it again),
 *                  `cancel` (the call went away);
 *   worker → main  `data` (output bytes; the ArrayBuffer is transferred, not copied),
 *                  `progress`, then exactly one of `done` (result and SHA-256) or `failed`.
 *
 * The worker's output buffers circulate: a `data` with an id lends its buffer, and the main
 * thread transfers it back in a `return` once gRPC has copied every byte of it into its frames,
 * so a slice allocates a few buffers, not one per MiB (the memory's first-touch page faults and
 * the garbage collection of external memory cost more than the slice's copies). The worker
 * lends at most `IN_FLIGHT` buffers (the engine's ChunkedOutput), which bounds what it runs
 * ahead of the stream. A `data` with id -1 is a copy the main thread keeps.
 * Cancellation is also written into a shared word, because a worker reading synchronously runs
 * its slice without ever turning its event loop, and would see a `cancel` message only at its end.
 */
import { AppError, type ErrorCode } from "@pcapfleet/core/errors";
import type { CaptureFile, Instant, SliceProgress, SliceResult } from "@pcapfleet/pcap/query";

/** Index of the cancel flag in the control word (0: running, 1: cancelled). */
export const CONTROL_CANCEL = 0;
/** Int32 slots of the control word. */
export const CONTROL_SLOTS = 1;

/** What a worker needs to run one slice. */
export interface SliceJob {
  readonly files: readonly CaptureFile[];
  readonly from: Instant;
  readonly to: Instant;
  readonly filter: string;
  readonly stateDir: string;
  /** 0: no cap. */
  readonly maxBytes: number;
  /** 0: no cap. */
  readonly maxPackets: number;
}

/** main → worker. */
export type ToWorker =
  | {
      readonly type: "start";
      readonly job: SliceJob;
      /** Shared Int32Array of {@link CONTROL_SLOTS} slots. */
      readonly control: SharedArrayBuffer;
    }
  | {
      readonly type: "return";
      /** The id of the `data` that lent it. */
      readonly id: number;
      /** Transferred back: the worker owns it again. */
      readonly buffer: ArrayBuffer;
    }
  | { readonly type: "cancel" };

/** A failure as it crosses the thread boundary: an AppError's code, message and details, and the cause's text. */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /** The cause's stack or message, for the main thread's log; never sent to a client. */
  readonly cause: string;
}

/** The result of a finished slice, as the main thread needs it for SliceDone. */
export type WireResult = Pick<SliceResult, "packets" | "bytes" | "truncated" | "skipped">;

/** worker → main. */
export type FromWorker =
  | {
      readonly type: "data";
      /** The loan's id (unique in the worker), to `return` the buffer with; -1: keep it. */
      readonly id: number;
      /** Transferred: the main thread owns it until it returns it. */
      readonly buffer: ArrayBuffer;
      /** Output bytes at the start of `buffer`. */
      readonly length: number;
    }
  | { readonly type: "progress"; readonly progress: SliceProgress }
  | { readonly type: "done"; readonly result: WireResult; readonly sha256: string }
  | { readonly type: "failed"; readonly error: WireError };

/** `reason` as it crosses to the main thread: AppErrors keep their code, anything else is internal. */
export function toWire(reason: unknown): WireError {
  const error = AppError.from(reason);
  const cause = error.cause ?? reason;
  const text = cause instanceof Error ? (cause.stack ?? cause.message) : String(cause);
  return { code: error.code, message: error.message, details: error.details, cause: text };
}

/** The AppError a {@link WireError} stands for, with the worker-side cause kept for logs. */
export function fromWire(wire: WireError): AppError {
  const cause = new Error(`in the slice worker: ${wire.cause}`);
  return new AppError(
    wire.code,
    wire.message,
    wire.details === undefined ? { cause } : { cause, details: wire.details },
  );
}
