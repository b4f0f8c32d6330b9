/**
 * Recognising one capture file by content: header and first packet. The same as the engine's
 * `probeCaptureFile` (pcap/src/query/catalogue.ts), which the `@pcapfleet/pcap` entry points do
 * not export yet; built here from exported parts until they do.
 */
import type { BigIntStats } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { fileSource, isCaptureMagic, openSource } from "@pcapfleet/pcap";
import type { CaptureFile } from "@pcapfleet/pcap/query";

/** Read size for probing: a header and one record; the reader grows it for a larger record. */
const PROBE_CHUNK = 64 * 1024;

/**
 * Reads the header and first record of `path`. Resolves to undefined for a file that is not a
 * capture (by its magic) or that vanished; rejects for one that cannot be read or whose header
 * is broken (a `PcapFormatError`).
 */
export async function probeCapture(path: string): Promise<CaptureFile | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    // Gone between the event and the open: a ring rotated it away.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let st: BigIntStats;
  const magic = Buffer.alloc(4);
  try {
    st = await handle.stat({ bigint: true });
    const { bytesRead } = await handle.read(magic, 0, 4, 0);
    if (!st.isFile() || bytesRead < 4 || !isCaptureMagic(magic.readUInt32LE(0))) {
      await handle.close();
      return undefined;
    }
  } catch (error) {
    await handle.close();
    throw error;
  }
  // openSource owns the handle from here: it closes it when opening fails.
  const reader = await openSource(fileSource(handle, path), { chunkSize: PROBE_CHUNK });
  try {
    const rec = await reader.next();
    return {
      path,
      size: Number(st.size),
      mtimeMs: Number(st.mtimeMs),
      ino: st.ino,
      dev: st.dev,
      format: reader.format,
      first: rec === null ? undefined : { sec: rec.tsSec, nsec: rec.tsNsec },
      linkTypes: [...reader.linkTypes],
      snaplen: reader.snaplen,
      nanosecond: reader.nanosecond,
      littleEndian: reader.littleEndian,
    };
  } finally {
    await reader.close();
  }
}

/** A one-line reason for a file or directory that could not be used. */
export function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "ENOTDIR") return "not a directory";
  if (code === "ENOENT") return "does not exist";
  const cause = error instanceof Error ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
  if (cause?.code === "EACCES" || cause?.code === "EPERM") return "permission denied";
  return error instanceof Error ? error.message : String(error);
}
