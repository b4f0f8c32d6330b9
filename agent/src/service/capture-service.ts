/**
 * The agent's CaptureService: GetStatus (the status snapshot heartbeats carry), Estimate (from
 * the indexes only) and Slice (a streamed pcap with resume, caps, backpressure and
 * cancellation, sliced in worker threads). Built from its dependencies, so the daemon wires the
 * live catalogue and tests a catalogue of a store they generate.
 */
import type { Logger } from "@pcapfleet/core";
import type { CaptureFile } from "@pcapfleet/pcap";
import type { CaptureService, SensorStatus, ServiceImpl } from "@pcapfleet/proto";
import type { BusyTasks } from "../tasks/busy-tasks.js";
import { estimateSlice } from "./estimate.js";
import { serveSlice } from "./slice-call.js";
import { createSliceWorkers, type SliceWorkers } from "./slice-workers.js";
import { windowOf } from "./window.js";

/**
 * Default size of a Slice data chunk: the largest the contract allows, since per-message costs
 * (HTTP/2 framing, grpc-js) dominate on loopback (bench/grpc-slice.bench.mjs: 256 KiB measured
 * faster than 128 KiB).
 */
export const DEFAULT_CHUNK_BYTES = 256 * 1024;
/** Smallest and largest chunk size the contract allows (DESIGN.md: 64–256 KiB). */
export const MIN_CHUNK_BYTES = 64 * 1024;
export const MAX_CHUNK_BYTES = 256 * 1024;

/** What the service needs of the agent. */
export interface CaptureServiceDeps {
  /** The capture files of the stores, and pinning against rotation while a slice reads them. */
  readonly catalogue: {
    /** Capture files in merge order (as `scanStores(...).files`). */
    files(): readonly CaptureFile[];
    /** Keeps `paths` from being deleted until the returned function is called. */
    pin(paths: readonly string[]): () => void;
  };
  /** Where the per-file indexes live. */
  readonly stateDir: string;
  /** The snapshot GetStatus returns. */
  readonly status: () => Promise<SensorStatus>;
  /** Running slices are registered here. */
  readonly tasks: BusyTasks;
  readonly log: Logger;
  /** Slice chunk size in bytes, 64–256 KiB; default {@link DEFAULT_CHUNK_BYTES}. */
  readonly chunkBytes?: number;
  /**
   * The worker threads slices run in. Default: a pool of the compiled worker beside this module,
   * whose idle threads do not keep the process alive (tests running the sources pass one).
   */
  readonly sliceWorkers?: SliceWorkers;
}

/**
 * Creates the CaptureService implementation, for `bindService(CaptureService, ...)`. Throws a
 * RangeError for a chunk size outside 64–256 KiB (a wiring mistake, not a request error).
 */
export function createCaptureService(deps: CaptureServiceDeps): ServiceImpl<typeof CaptureService> {
  const chunkBytes = deps.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < MIN_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES) {
    throw new RangeError(`chunkBytes must be ${MIN_CHUNK_BYTES}–${MAX_CHUNK_BYTES}, not ${chunkBytes}`);
  }
  const sliceDeps = { ...deps, chunkBytes, workers: deps.sliceWorkers ?? createSliceWorkers() };
  return {
    async getStatus() {
      return { status: await deps.status() };
    },
    async estimate(request) {
      const { from, to } = windowOf(request.window);
      return estimateSlice(deps.catalogue.files(), deps.stateDir, from, to, request.filter);
    },
    slice(request, context) {
      return serveSlice(request, context, sliceDeps);
    },
  };
}
