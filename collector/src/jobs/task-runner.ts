/**
 * Runs one task: the sensor's `Slice` of the job's window and filter, streamed chunk by chunk
 * into `<job>/<task>.pcap` of the result store (never held whole in memory; the gRPC stream's
 * flow control holds the agent back while the disk is busy). A retry resumes at the bytes the
 * file already holds (the agent's output is deterministic for one request), and the file's
 * SHA-256, computed as it is written, must equal the agent's: a mismatch restarts the task from
 * zero. The task is `unresponsive` when no message arrives for the idle timeout, whatever its
 * length. Each failure is classified: permanent (no data in range, a filter the sensor's
 * libpcap rejects) or transient (unreachable, broken stream, timeout), which the engine retries.
 */
import { mkdir, stat, truncate } from "node:fs/promises";
import { AppError, ErrorCode, GrpcStatus, type Logger } from "@pcapfleet/core";
import { parseInstant } from "@pcapfleet/pcap";
import { SkipReason, tlsCallError } from "@pcapfleet/proto";
import type { AgentClients } from "./agent-clients.js";
import { HashingFile } from "./hashing-file.js";
import type { ClaimedTask, TaskEnd } from "./queue.js";
import { jobDir, taskFile } from "./result-paths.js";
import { TaskError } from "./types.js";

/** What running a task needs. */
export interface TaskRunnerDeps {
  readonly clients: AgentClients;
  readonly dataDir: string;
  readonly log: Logger;
  /** A task with no message from the agent for this long is abandoned (and retried). */
  readonly idleTimeoutMs: number;
  /** Attempts before a transient failure becomes final. */
  readonly maxAttempts: number;
  /** Backoff before the first retry; doubled per attempt. */
  readonly retryBaseMs: number;
  /** Longest backoff. */
  readonly retryMaxMs: number;
}

/** Why the engine stopped a task itself. */
export type StopReason = "cancelled" | "stopping";

/** Progress of a running task, for lease renewals and watchers. */
export interface TaskProgress {
  received: number;
  expected: number;
}

/** Window of a job in nanoseconds since the epoch, from its RFC 3339 bounds (sub-ms kept). */
export function windowNs(spec: { start_time: string; end_time: string }): { startNs: bigint; endNs: bigint } {
  const ns = (text: string): bigint => {
    const instant = parseInstant(text);
    return BigInt(instant.sec) * 1_000_000_000n + BigInt(instant.nsec);
  };
  return { startNs: ns(spec.start_time), endNs: ns(spec.end_time) };
}

/** Name of the request metadata carrying the job id (the agent shows it with its busy task). */
const JOB_ID_METADATA = "pcapfleet-job-id";

const skipReasonNames: Readonly<Record<number, string>> = {
  [SkipReason.CORRUPT]: "corrupt",
  [SkipReason.UNREADABLE]: "unreadable",
  [SkipReason.VANISHED]: "vanished",
  [SkipReason.LINK_TYPE_MISMATCH]: "link_type_mismatch",
};

/**
 * Runs `claimed` until it ends; resolves to how (never rejects). `signal` aborts it with a
 * {@link StopReason}; `progress` is updated as bytes arrive.
 */
export async function runTask(
  claimed: ClaimedTask,
  deps: TaskRunnerDeps,
  signal: AbortSignal,
  progress: TaskProgress,
): Promise<TaskEnd | StopReason> {
  const { task, job } = claimed;
  const log = deps.log.child({ jobId: job.id, taskId: task.id, sensor: task.sensor, attempt: task.attempts });
  if (claimed.sensorStatus === undefined) {
    return { kind: "failed", code: TaskError.AgentError, message: `sensor ${task.sensor} is not registered` };
  }
  if (claimed.sensorStatus === "offline" || claimed.agentAddress === "") {
    const why =
      claimed.agentAddress === ""
        ? `sensor ${task.sensor} has not advertised a capture address`
        : `sensor ${task.sensor} is offline (no recent heartbeat)`;
    return retryOrFail(TaskError.SensorOffline, why, task.attempts, deps);
  }
  const path = taskFile(deps.dataDir, job.id, task.id);
  let file: HashingFile | undefined;
  const call = new AbortController();
  const onStop = (): void => call.abort(signal.reason);
  signal.addEventListener("abort", onStop, { once: true });
  let idledOut = false;
  let idle: NodeJS.Timeout | undefined;
  /** A write to the result store that failed while the call ran: the task's real failure. */
  let storageFailure: unknown;
  try {
    await mkdir(jobDir(deps.dataDir, job.id), { recursive: true }).catch((cause: unknown) => {
      throw new AppError(ErrorCode.StorageIo, `cannot create ${jobDir(deps.dataDir, job.id)}`, { cause });
    });
    const existing = await stat(path).then(
      (s) => s.size,
      () => 0,
    );
    const sink = await HashingFile.open(path, existing > 0);
    file = sink;
    const resumeOffset = sink.size;
    if (resumeOffset > 0) log.info({ resumeOffset }, "resuming task");
    progress.received = resumeOffset;
    const window = windowNs(job.spec);
    // The estimate only feeds the progress bar; the slice does not wait for it.
    deps.clients
      .get(claimed.agentAddress)
      .estimate(
        { window, filter: job.effective_filter },
        { deadline: Date.now() + 5_000, signal: call.signal },
      )
      .then((estimate) => {
        // The estimate counts packet records; the output adds a 24-byte file header.
        progress.expected = Math.max(progress.expected, Number(estimate.bytes) + 24);
      })
      .catch(() => undefined);
    // Re-armed (refresh) by every piece of data: cheaper than a new timer per piece.
    idle = setTimeout(() => {
      idledOut = true;
      call.abort("idle");
    }, deps.idleTimeoutMs);
    const timer = idle;
    let expectedOffset = BigInt(resumeOffset);
    let paused = false;
    const slice = deps.clients.slice(
      claimed.agentAddress,
      {
        taskId: task.id,
        window,
        filter: job.effective_filter,
        maxBytes: BigInt(job.max_bytes),
        resumeOffset: BigInt(resumeOffset),
      },
      {
        signal: call.signal,
        metadata: { [JOB_ID_METADATA]: job.id },
        onData: (data, offset) => {
          timer.refresh();
          if (offset !== expectedOffset) {
            throw new AppError(
              ErrorCode.Unavailable,
              `stream out of order: data at ${offset}, expected ${expectedOffset}`,
            );
          }
          // Views of what HTTP/2 read, never reused by it: the file keeps them until written,
          // without a copy. The SHA-256 check at the end would catch it if that ever changed.
          sink.write(data);
          expectedOffset += BigInt(data.length);
          progress.received = sink.size;
          if (sink.full && !paused) {
            // Flow control holds the agent back while the disk catches up.
            paused = true;
            slice.pause();
            sink.drain().then(
              () => {
                paused = false;
                slice.resume();
              },
              (error: unknown) => {
                storageFailure = error;
                call.abort("storage");
              },
            );
          }
        },
      },
    );
    const done = await slice.done;
    if (done === undefined) {
      throw new AppError(ErrorCode.Unavailable, "the sensor ended the stream without a summary");
    }
    await sink.close();
    const sha256 = sink.digest();
    if (BigInt(sink.size) !== done.bytes || sha256 !== done.sha256) {
      await truncate(path, 0).catch(() => undefined);
      log.warn({ bytes: sink.size, agentBytes: String(done.bytes) }, "slice failed its integrity check");
      return retryOrFail(
        TaskError.AgentError,
        `integrity check failed: received ${sink.size} bytes with sha256 ${sha256.slice(0, 12)}…, ` +
          `the sensor sent ${done.bytes} bytes with sha256 ${done.sha256.slice(0, 12)}…; retrying from the start`,
        task.attempts,
        deps,
      );
    }
    const packets = Number(done.packets);
    return {
      kind: "delivered",
      status: packets > 0 ? "complete" : "no_data",
      packets,
      bytes: sink.size,
      sha256,
      truncated: done.truncated,
      errorCode: done.truncated ? TaskError.SizeCapped : packets === 0 ? TaskError.NoDataInRange : null,
      message: done.truncated
        ? `stopped at max_bytes (${job.max_bytes} bytes)`
        : packets === 0
          ? "the sensor holds this window, but no packet in it matched the filter"
          : null,
      skipped: done.skippedFiles.map((s) => ({
        path: s.path,
        reason: skipReasonNames[s.reason] ?? "unknown",
        detail: s.detail,
      })),
    };
  } catch (error) {
    await file?.abandon();
    if (signal.aborted) return signal.reason === "stopping" ? "stopping" : "cancelled";
    if (idledOut) {
      return retryOrFail(
        TaskError.Timeout,
        `no data from sensor ${task.sensor} for ${Math.round(deps.idleTimeoutMs / 1000)} s`,
        task.attempts,
        deps,
      );
    }
    const cause = storageFailure ?? error;
    const end = classify(cause, claimed, task.attempts, deps);
    log.info({ err: cause, end: end.kind }, "task attempt failed");
    return end;
  } finally {
    clearTimeout(idle);
    signal.removeEventListener("abort", onStop);
    call.abort("done");
  }
}

/** A transient failure: retried with exponential backoff until attempts run out. */
function retryOrFail(code: TaskError, message: string, attempts: number, deps: TaskRunnerDeps): TaskEnd {
  if (attempts >= deps.maxAttempts) {
    return { kind: "failed", code, message: `${message} (gave up after ${attempts} attempts)` };
  }
  const delayMs = Math.min(deps.retryMaxMs, deps.retryBaseMs * 2 ** Math.max(0, attempts - 1));
  return {
    kind: "retry",
    code,
    message: `${message}; retry ${attempts + 1} of ${deps.maxAttempts}`,
    delayMs,
  };
}

/** Maps a failed call (or a local failure) to a task end. */
function classify(error: unknown, claimed: ClaimedTask, attempts: number, deps: TaskRunnerDeps): TaskEnd {
  if (error instanceof AppError && error.code === ErrorCode.StorageIo) {
    return retryOrFail(TaskError.StorageIo, `collector storage: ${error.message}`, attempts, deps);
  }
  const grpcCode = (error as { code?: unknown }).code;
  const details =
    ((error as { details?: unknown }).details as string | undefined) ?? (error as Error).message;
  const where = `sensor ${claimed.task.sensor} (${claimed.agentAddress})`;
  if (typeof grpcCode === "number") {
    switch (grpcCode) {
      case GrpcStatus.NOT_FOUND:
        return {
          kind: "delivered",
          status: "no_data",
          packets: 0,
          bytes: 0,
          sha256: null,
          truncated: false,
          errorCode: TaskError.NoDataInRange,
          message: details,
          skipped: [],
        };
      case GrpcStatus.INVALID_ARGUMENT:
        return /filter/i.test(details)
          ? { kind: "failed", code: TaskError.FilterInvalid, message: details }
          : {
              kind: "failed",
              code: TaskError.AgentError,
              message: `${where} refused the request: ${details}`,
            };
      case GrpcStatus.UNAVAILABLE: {
        // A failed handshake says so (a certificate the other side does not trust, TLS on one
        // side only), rather than reading as a sensor that is down.
        const tls = tlsCallError(error, where, {
          secure: deps.clients.secure,
          hint: deps.clients.secure
            ? "the sensor's certificate must be signed by the collector's tls.ca, and the sensor's tls.ca must sign the collector's"
            : "give the collector a tls block (cert, key, ca) when the sensors serve TLS",
        });
        if (tls !== undefined) return retryOrFail(TaskError.SensorOffline, tls.message, attempts, deps);
        return retryOrFail(TaskError.SensorOffline, `cannot reach ${where}: ${details}`, attempts, deps);
      }
      case GrpcStatus.DEADLINE_EXCEEDED:
        return retryOrFail(TaskError.Timeout, `${where} timed out: ${details}`, attempts, deps);
      default:
        return retryOrFail(TaskError.AgentError, `${where} failed: ${details}`, attempts, deps);
    }
  }
  if (error instanceof AppError && error.code === ErrorCode.Unavailable) {
    return retryOrFail(TaskError.AgentError, `${where}: ${error.message}`, attempts, deps);
  }
  return retryOrFail(TaskError.AgentError, `${where}: ${details}`, attempts, deps);
}
