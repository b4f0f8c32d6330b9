/**
 * The Slice RPC: checks the request, answers a window the store does not hold with NOT_FOUND at
 * once, then runs `sliceStore` in a worker thread (worker-slice.ts: reads, filter, framing and
 * SHA-256 off the event loop) and yields the chunks of its output as the stream takes them,
 * ending with SliceDone. The output is what `pcapfleet-agent slice` writes for the same window
 * and filter, so a resumed call (resume_offset) continues the very same bytes. Every exit path
 * (done, error, cancelled call, deadline) stops the worker's reads, waits for them to stop,
 * then releases the pinned files and the busy task.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { AppError, ErrorCode, type Logger } from "@pcapfleet/core";
import {
  type CaptureFile,
  consideredFiles,
  type SliceProgress,
  type SkippedFile as SliceSkip,
} from "@pcapfleet/pcap";
import {
  type HandlerContext,
  SkipReason,
  type SliceRequest,
  type SliceResponseSchema,
  TaskKind,
  whenSent,
} from "@pcapfleet/proto";
import type { BusyTasks } from "../tasks/busy-tasks.js";
import { ChunkQueue, cancelledError } from "./chunk-queue.js";
import { validateFilter } from "./estimate.js";
import { describeRange, fileSpans, formatNs, overlapping, storeRange, toInstant } from "./ring-extent.js";
import type { SliceWorkers } from "./slice-workers.js";
import { windowOf } from "./window.js";
import { runInWorker, type WorkerSliceRun } from "./worker-slice.js";

/** What the Slice RPC needs of the agent. */
export interface SliceDeps {
  readonly catalogue: {
    files(): readonly CaptureFile[];
    pin(paths: readonly string[]): () => void;
  };
  readonly stateDir: string;
  readonly tasks: BusyTasks;
  readonly log: Logger;
  readonly chunkBytes: number;
  /** The threads slices run in. */
  readonly workers: SliceWorkers;
}

/** Request metadata key carrying the collector's job id, shown with the busy task. */
export const JOB_ID_METADATA = "pcapfleet-job-id";

type SliceResponse = MessageInitShape<typeof SliceResponseSchema>;

/** Serves one Slice call; see the module comment. */
export async function* serveSlice(
  request: SliceRequest,
  context: HandlerContext,
  deps: SliceDeps,
): AsyncGenerator<SliceResponse> {
  const { from, to } = windowOf(request.window);
  const resumeOffset = countOf(request.resumeOffset, "resume_offset");
  const maxBytes = countOf(request.maxBytes, "max_bytes");
  const maxPackets = countOf(request.maxPackets, "max_packets");
  const files = deps.catalogue.files();
  await validateFilter(request.filter, files);
  const spans = await fileSpans(files, deps.stateDir);
  if (overlapping(spans, from, to).length === 0) {
    throw new AppError(
      ErrorCode.NotFound,
      `no data in range ${formatNs(from)} – ${formatNs(to)}: ${describeRange(storeRange(spans))}`,
    );
  }
  const window = { from: toInstant(from), to: toInstant(to) };
  const log = deps.log.child({ taskId: request.taskId });
  const release = deps.catalogue.pin(consideredFiles(files, window).map((file) => file.path));
  const jobId = context.metadata.get(JOB_ID_METADATA)[0];
  const task = deps.tasks.start({
    taskId: request.taskId,
    jobId: typeof jobId === "string" ? jobId : "",
    kind: TaskKind.SLICE,
  });
  const queue = new ChunkQueue(deps.chunkBytes, resumeOffset);
  let last: SliceProgress | undefined;
  const started = Date.now();
  let outcome = "failed";
  let run: WorkerSliceRun | undefined;
  const stop = (): void => run?.cancel(cancelledError(context.signal.reason));
  context.signal.addEventListener("abort", stop, { once: true });
  try {
    run = runInWorker(
      deps.workers,
      {
        files,
        ...window,
        filter: request.filter,
        stateDir: deps.stateDir,
        maxBytes,
        maxPackets,
      },
      queue,
      (progress) => {
        last = progress;
        task.update({
          progress: progress.filesTotal > 0 ? progress.filesDone / progress.filesTotal : 0,
          bytesDone: progress.bytes,
          packetsDone: progress.packets,
        });
      },
    );
    if (context.signal.aborted) stop();
    let sequence = 0n;
    for (;;) {
      const chunk = await queue.take();
      if (chunk === undefined) break;
      // A view of a lent buffer: the worker gets the buffer back once gRPC copied its bytes.
      if (chunk.sent !== undefined) whenSent(chunk.data, chunk.sent);
      yield {
        kind: {
          case: "chunk",
          value: { sequence: sequence++, offset: BigInt(chunk.offset), data: chunk.data },
        },
      };
    }
    const { result, sha256 } = await run.result;
    if (resumeOffset > queue.total) {
      throw new AppError(
        ErrorCode.InvalidArgument,
        `resume_offset ${resumeOffset} is beyond the end of the output (${queue.total} bytes)`,
      );
    }
    outcome = result.truncated ? "truncated" : "complete";
    yield {
      kind: {
        case: "done",
        value: {
          packets: BigInt(result.packets),
          bytes: BigInt(result.bytes),
          sha256,
          truncated: result.truncated,
          skippedFiles: result.skipped.map(skippedFile),
        },
      },
    };
  } finally {
    if (context.signal.aborted) outcome = "cancelled";
    context.signal.removeEventListener("abort", stop);
    // Whatever ended the call, the worker stops reading before its files may rotate away.
    run?.cancel(cancelledError(context.signal.reason));
    await run?.ended;
    release();
    task.end();
    log.info(
      {
        outcome,
        ms: Date.now() - started,
        packets: last?.packets ?? 0,
        bytes: queue.total,
        bytesRead: last?.bytesRead ?? 0,
      },
      "slice ended",
    );
  }
}

/** A uint64 field as a safe number; larger is `invalid_argument`. */
function countOf(value: bigint, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new AppError(ErrorCode.InvalidArgument, `${field} ${value} is too large`);
  }
  return Number(value);
}

/** A file the slice left out, with the closest reason the proto offers. */
function skippedFile(skip: SliceSkip): { path: string; reason: SkipReason; detail: string } {
  return { path: skip.path, reason: skipReason(skip.reason), detail: skip.reason };
}

/**
 * The engine reports a skip as one line of text; the kind is recovered from it. Filter errors
 * only skip a file when libpcap cannot compile the expression for that file's link type.
 */
export function skipReason(reason: string): SkipReason {
  if (/link type|bad filter/i.test(reason)) return SkipReason.LINK_TYPE_MISMATCH;
  if (/ENOENT|no such file/i.test(reason)) return SkipReason.VANISHED;
  if (/permission denied|EACCES|EPERM|EIO|is a directory|cannot (open|read)|read failed/i.test(reason)) {
    return SkipReason.UNREADABLE;
  }
  return SkipReason.CORRUPT;
}
