/**
 * Opening captures: the format is detected from the magic number, never from the file name.
 */
import { open } from "node:fs/promises";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { PcapFormatError } from "../types.js";
import type { CaptureReader } from "./capture-reader.js";
import { bufferSource, ChunkBuffer, fileSource, type ReadSource } from "./chunk-buffer.js";
import {
  CLASSIC_HEADER_LENGTH,
  CLASSIC_MAX_RECORD,
  ClassicReader,
  isClassicMagic,
} from "./classic-reader.js";
import { BlockType, MAX_BLOCK_LENGTH } from "./pcapng-blocks.js";
import { PcapngReader } from "./pcapng-reader.js";

/** Options of {@link openCapture}. */
export interface OpenOptions {
  /** File offset of the first record to read (a `fileOffset` a reader reported). Default: the first record. */
  start: number;
  /** Records starting at or after this offset are not read. Default: read to the end. */
  end: number;
  /**
   * Bytes per read, and the initial buffer size. Large reads make a scan cost one system call
   * per chunk. Default {@link DEFAULT_CHUNK_SIZE}; tests use tiny values to exercise boundaries.
   */
  chunkSize: number;
}

/** Default read size: 4 MiB amortises system calls while staying in L2/L3-friendly territory. */
export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;
const MIN_CHUNK_SIZE = 32;
const MAX_CHUNK_SIZE = 64 * 1024 * 1024;

/**
 * Opens a classic pcap or pcapng file for streaming reads. Corrupt or non-capture input fails
 * with a {@link PcapFormatError} naming the file and offset; a missing file with `not_found`.
 */
export async function openCapture(path: string, options: Partial<OpenOptions> = {}): Promise<CaptureReader> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === "ENOENT";
    throw new AppError(missing ? ErrorCode.NotFound : ErrorCode.StorageIo, `${path}: cannot open`, { cause });
  }
  return openSource(fileSource(handle, path), options);
}

/**
 * Reads a capture held in memory (a slice received over the network, a test fixture). Same
 * behaviour as {@link openCapture}; `name` labels errors.
 */
export function openCaptureBuffer(
  bytes: Uint8Array,
  options: Partial<OpenOptions> & { name?: string } = {},
): Promise<CaptureReader> {
  // The bytes are all there is: a buffer larger than them would only waste memory.
  const chunkSize = Math.min(options.chunkSize ?? DEFAULT_CHUNK_SIZE, Math.max(bytes.length, MIN_CHUNK_SIZE));
  return openSource(bufferSource(bytes, options.name ?? "<memory>"), { ...options, chunkSize });
}

/** Opens a capture from any {@link ReadSource}; the source is closed if opening fails. */
export async function openSource(
  source: ReadSource,
  options: Partial<OpenOptions> = {},
): Promise<CaptureReader> {
  try {
    const reader = await detect(source, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
    if (options.end !== undefined) reader.setEnd(options.end);
    if (options.start !== undefined) await reader.seek(options.start);
    return reader;
  } catch (error) {
    await source.close();
    throw error;
  }
}

async function detect(source: ReadSource, requestedChunk: number): Promise<CaptureReader> {
  const chunkSize = Math.min(MAX_CHUNK_SIZE, Math.max(MIN_CHUNK_SIZE, Math.floor(requestedChunk)));
  const chunk = new ChunkBuffer(source, chunkSize, MAX_BLOCK_LENGTH);
  if (!(await chunk.fill(4))) {
    throw new PcapFormatError(source.name, 0, chunk.end === 0 ? "empty file" : "truncated file header");
  }
  const magic = chunk.buf.readUInt32LE(0);
  if (isClassicMagic(magic)) {
    if (!(await chunk.fill(CLASSIC_HEADER_LENGTH))) {
      throw new PcapFormatError(source.name, chunk.end, "truncated file header");
    }
    chunk.maxSize = Math.max(chunkSize, CLASSIC_MAX_RECORD);
    return new ClassicReader(chunk, source.name);
  }
  if (magic === BlockType.SectionHeader) {
    const reader = new PcapngReader(chunk, source.name);
    await reader.readHeader();
    // The header may have left the buffer (tiny chunks, many IDBs): read it again, once.
    const header = Buffer.alloc(reader.position);
    await source.read(header, 0, header.length, 0);
    reader.headerBytes = header;
    return reader;
  }
  const hex = magic.toString(16).padStart(8, "0");
  throw new PcapFormatError(source.name, 0, `not a pcap or pcapng file (magic 0x${hex})`);
}
