import { statfs } from "node:fs/promises";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";

/** Space on the filesystem holding a path, as `df` reports it. */
export interface DiskUsage {
  readonly sizeBytes: number;
  readonly usedBytes: number;
  /** Space available to unprivileged writers (excludes reserved blocks). */
  readonly freeBytes: number;
  /** used / (used + available), 0 to 100: df's Use%, which is what fills up in practice. */
  readonly usedPercent: number;
}

/**
 * Reads the usage of the filesystem that holds `path` with statfs(2). Cheap enough to call on
 * every heartbeat; a missing or unreadable path is an AppError the caller reports per store.
 */
export async function diskUsage(path: string): Promise<DiskUsage> {
  let stats: Awaited<ReturnType<typeof statfs>>;
  try {
    stats = await statfs(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new AppError(
      code === "ENOENT" ? ErrorCode.NotFound : ErrorCode.StorageIo,
      `cannot read filesystem of ${path}: ${code ?? String(cause)}`,
      { cause },
    );
  }
  const sizeBytes = stats.blocks * stats.bsize;
  const usedBytes = (stats.blocks - stats.bfree) * stats.bsize;
  const freeBytes = stats.bavail * stats.bsize;
  const usable = usedBytes + freeBytes;
  return {
    sizeBytes,
    usedBytes,
    freeBytes,
    usedPercent: usable === 0 ? 0 : (usedBytes / usable) * 100,
  };
}
