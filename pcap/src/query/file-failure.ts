/**
 * Failures of one capture file (or store directory) as opposed to failures of the whole run:
 * which errors end only the file, and the one-line reason listed for it. Shared by the catalogue,
 * index upkeep, the slice executor and the agent's live catalogue, so a file is reported the
 * same way wherever it fails.
 */
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { PcapFormatError } from "../types.js";

/**
 * True for failures that end one file, not the run: format and storage problems of the capture
 * (a `PcapFormatError`, a `storage_io` or `not_found` AppError). Anything else (a state directory
 * that cannot be written, cancellation, a bug) fails the whole operation.
 */
export function isFileFailure(error: unknown): boolean {
  if (error instanceof PcapFormatError) return true;
  return (
    error instanceof AppError && (error.code === ErrorCode.StorageIo || error.code === ErrorCode.NotFound)
  );
}

/**
 * A one-line reason for a file or directory that could not be used, without the path (the
 * caller lists it next to the path): the format problem and its offset, "permission denied",
 * "does not exist", "not a directory", "is a directory", or the error's message.
 */
export function reasonOf(error: unknown): string {
  if (error instanceof PcapFormatError) {
    return error.message.startsWith(`${error.file}: `)
      ? error.message.slice(error.file.length + 2)
      : error.message;
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "ENOENT") return "does not exist";
  if (code === "ENOTDIR") return "not a directory";
  if (code === "EISDIR") return "is a directory";
  if (error instanceof Error && error.cause instanceof Error) {
    const causeCode = (error.cause as NodeJS.ErrnoException).code;
    if (causeCode === "EACCES" || causeCode === "EPERM") return "permission denied";
    if (error instanceof AppError) return `${error.message} (${error.cause.message})`;
  }
  return error instanceof Error ? error.message : String(error);
}
