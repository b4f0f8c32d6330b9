/**
 * Downloads a job's result to a file over DownloadPcap: written to `FILE.part`, resumed at the
 * byte reached when the stream breaks, checked against the collector's size and SHA-256, then
 * renamed to FILE. A file that does not verify is removed, so FILE only ever holds the result.
 */
import { rename, rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { AppError, ErrorCode } from "@pcapfleet/core";
import { HashingFile } from "../jobs/hashing-file.js";
import type { Session } from "./session.js";

/** Breaks in a row (no byte received in between) after which the download gives up. */
const MAX_RESUMES = 8;

/** What was written. */
export interface Downloaded {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  /** Times the stream broke and was resumed. */
  readonly resumes: number;
}

function retryable(error: unknown): boolean {
  const code = AppError.from(error).code;
  return code === ErrorCode.Unavailable || code === ErrorCode.Cancelled || code === ErrorCode.Timeout;
}

/** Downloads the result of `jobId` to `path`; see the module comment. */
export async function downloadResult(session: Session, jobId: string, path: string): Promise<Downloaded> {
  const part = `${path}.part`;
  let file: HashingFile;
  try {
    file = await HashingFile.open(part, false);
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause ?? error;
    throw new AppError(ErrorCode.StorageIo, `cannot write ${part}: ${(cause as Error).message}`, { cause });
  }
  let offset = 0n;
  let failures = 0;
  let resumes = 0;
  let done: { bytes: bigint; sha256: string } | undefined;
  try {
    while (done === undefined) {
      try {
        done = await session.authed(async (options) => {
          const { responses } = session.jobs.downloadPcap({ jobId, offset }, options);
          let sequence = 0n;
          for await (const message of responses) {
            if (message.kind.case === "done") return message.kind.value;
            if (message.kind.case !== "chunk") continue;
            const chunk = message.kind.value;
            if (chunk.sequence !== sequence || chunk.offset !== offset) {
              throw new AppError(
                ErrorCode.StorageIo,
                `download out of order: chunk ${chunk.sequence} at byte ${chunk.offset}, expected ${sequence} at ${offset}`,
              );
            }
            // Queued, hashed, and written while the next messages arrive: each message has bytes
            // of its own (grpc-js never reuses them), and the SHA-256 check below would catch it
            // if that ever changed.
            file.write(Buffer.from(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength));
            if (file.full) await file.drain();
            offset += BigInt(chunk.data.length);
            sequence += 1n;
            failures = 0;
          }
          throw new AppError(ErrorCode.Unavailable, "the download ended without its summary");
        }, "stream");
      } catch (error) {
        failures += 1;
        if (!retryable(error) || failures > MAX_RESUMES) throw error;
        resumes += 1;
        await sleep(Math.min(5_000, 200 * 2 ** failures));
      }
    }
    await file.close();
    const sha256 = file.digest();
    if (done.bytes !== offset || done.sha256 !== sha256) {
      throw new AppError(
        ErrorCode.StorageIo,
        `the download does not verify: got ${offset} bytes with sha256 ${sha256}, the collector has ${done.bytes} bytes with sha256 ${done.sha256}`,
      );
    }
    await rename(part, path);
    return { path, bytes: Number(offset), sha256, resumes };
  } catch (error) {
    await file.abandon();
    await rm(part, { force: true });
    throw error;
  }
}
