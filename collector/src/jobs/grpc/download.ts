/**
 * DownloadPcap: a job's merged result from a byte offset, in 256 KiB chunks numbered from 0 with
 * their offsets, then the size and SHA-256 of the whole file so the client can check what it
 * assembled. The file is read a chunk ahead of what the transport drained (the pump in
 * @pcapfleet/proto waits for it), so a multi-GB result costs two chunks of memory per call.
 */
import { open } from "node:fs/promises";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { AppError, ErrorCode } from "@pcapfleet/core";
import type { DownloadPcapResponseSchema } from "@pcapfleet/proto";
import type { AuditLog } from "../../audit/audit-log.js";
import type { JobActor } from "../job-actions.js";
import type { JobStore } from "../job-store.js";

/** Bytes per DataChunk: the size the Slice stream uses, under gRPC's 4 MiB message limit. */
export const DOWNLOAD_CHUNK_BYTES = 256 * 1024;

type DownloadMessage = MessageInitShape<typeof DownloadPcapResponseSchema>;

/**
 * Yields the result of job `id` from `offset`: `conflict` while the job has no result,
 * `not_found` once retention deleted it (or the file is gone), `invalid_argument` for an offset
 * past the end. A download from offset 0 is audited as `job.download`, as the HTTP one without a
 * Range header is; resumptions are not.
 */
export async function* downloadResult(
  deps: { readonly store: JobStore; readonly audit: AuditLog },
  actor: JobActor,
  id: string,
  offset: bigint,
  signal: AbortSignal,
): AsyncGenerator<DownloadMessage> {
  const { job, result } = await deps.store.readyResult(id, true);
  const file = await open(result.path, "r").catch((cause: unknown) => {
    throw new AppError(ErrorCode.NotFound, `the result of job ${job.id} is no longer on the collector`, {
      cause,
    });
  });
  let next: Promise<Buffer> | undefined;
  try {
    const size = (await file.stat()).size;
    if (offset > BigInt(size)) {
      throw new AppError(
        ErrorCode.InvalidArgument,
        `offset ${offset} is past the end of the result (${size} bytes)`,
      );
    }
    if (offset === 0n) {
      await deps.audit.record({
        actor: actor.username,
        action: "job.download",
        target: job.id,
        ip: actor.ip,
        details: { sha256: result.sha256, bytes: result.bytes, via: "grpc" },
      });
    }
    /** Reads the chunk at `at`; a failure is handled when awaited (never left unhandled). */
    const readAt = (at: number): Promise<Buffer> => {
      // A fresh buffer per chunk: grpc-js may still hold the previous one in its write queue.
      const buffer = Buffer.allocUnsafe(Math.min(DOWNLOAD_CHUNK_BYTES, size - at));
      const read = file
        .read(buffer, 0, buffer.length, at)
        .then(({ bytesRead }) => buffer.subarray(0, bytesRead));
      read.catch(() => undefined);
      return read;
    };
    let position = Number(offset);
    let sequence = 0n;
    // The next chunk is read while this one is sent: the disk and the network overlap.
    next = position < size ? readAt(position) : undefined;
    while (next !== undefined && !signal.aborted) {
      const data = await next;
      if (data.length === 0) {
        next = undefined;
        throw new AppError(
          ErrorCode.StorageIo,
          `the result of job ${job.id} ended early at byte ${position}`,
        );
      }
      const after = position + data.length;
      next = after < size ? readAt(after) : undefined;
      yield { kind: { case: "chunk", value: { sequence, offset: BigInt(position), data } } };
      position = after;
      sequence += 1n;
    }
    yield { kind: { case: "done", value: { bytes: BigInt(size), sha256: result.sha256 } } };
  } finally {
    // A read still running when the call ended (cancelled) must end before the file closes.
    await next?.catch(() => undefined);
    await file.close();
  }
}
