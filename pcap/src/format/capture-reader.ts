/**
 * The streaming reader every capture format shares: chunked I/O, the one reused record, the
 * per-packet (`next`) and per-chunk (`readBatch`) loops, seeking and end-of-data handling.
 * Format subclasses only parse one record at the current position.
 */
import { emptyRecord, type PacketRecord, PcapFormatError } from "../types.js";
import type { ChunkBuffer } from "./chunk-buffer.js";

/** The two container formats the engine reads. */
export type CaptureFormat = "pcap" | "pcapng";

/**
 * Called for each packet by {@link CaptureReader.readBatch}. The record is the reader's reused
 * cursor; return `false` to stop after this packet, anything else to continue.
 */
export type RecordVisitor = (rec: PacketRecord) => unknown;

/** An incomplete record at the end of the data read so far (a file still being written). */
export interface TruncatedTail {
  /** File offset where the incomplete record starts. */
  readonly offset: number;
  /** Bytes of it present in the file. */
  readonly bytes: number;
}

/** Result codes of {@link CaptureReader.parseOne}, numbers so the hot loop compares integers. */
export const Parse = {
  /** The record at the position is incomplete; `need` says how many bytes it takes. */
  NeedMore: 0,
  /** A packet was parsed into the record and the position advanced past it. */
  Packet: 1,
  /** A non-packet block was consumed. */
  Skipped: 2,
} as const;

/**
 * A capture being read. Get one from `openCapture`. Records handed out are the same object each
 * time, overwritten by the next read: copy what you keep.
 */
export abstract class CaptureReader {
  /** Container format, detected from the magic number. */
  abstract readonly format: CaptureFormat;
  /** File name (or label) used in errors. */
  readonly name: string;
  /** Link types of the capture, in order of first appearance (pcapng adds later interfaces). */
  readonly linkTypes: number[] = [];
  /** Snapshot length from the header (first interface for pcapng; 0 there means unlimited). */
  snaplen = 0;
  /** True when the source precision is finer than microseconds (any interface, for pcapng). */
  nanosecond = false;
  /** Byte order of the file header (first section for pcapng). */
  littleEndian = true;
  /** Copy of the file header: 24 bytes for pcap, the first SHB and its IDBs for pcapng. */
  headerBytes: Buffer = Buffer.alloc(0);
  /** Offset of the first record after the header. */
  dataOffset = 0;
  /** Set when the last read stopped at an incomplete record at the end of the data; else null. */
  truncatedTail: TruncatedTail | null = null;
  protected readonly rec: PacketRecord = emptyRecord();
  protected readonly chunk: ChunkBuffer;
  /** Bytes the record at the position needs, set by parseOne when it returns NeedMore. */
  protected need = 0;
  private endOffset = Number.POSITIVE_INFINITY;
  private closed = false;

  /** For subclasses: reads through `chunk`, naming `name` in errors. */
  protected constructor(chunk: ChunkBuffer, name: string) {
    this.chunk = chunk;
    this.name = name;
  }

  /** Parses the record at the position without awaiting; returns a {@link Parse} code. */
  protected abstract parseOne(): number;

  /** File offset of the next record to be read. */
  get position(): number {
    return this.chunk.offset;
  }

  /** Current size of the read buffer in bytes. */
  get bufferSize(): number {
    return this.chunk.buf.length;
  }

  /** The size the read buffer can never exceed, whatever the input (corrupt or not). */
  get maxBufferSize(): number {
    return this.chunk.maxSize;
  }

  /**
   * Stops the stream before the record that starts at or after `offset` (records starting
   * earlier are returned whole). Infinity (the default) reads to the end of the file.
   */
  setEnd(offset: number): void {
    this.endOffset = offset;
    this.chunk.readLimit = offset;
  }

  /** Returns the next packet, or null at the end (see {@link truncatedTail} for a partial one). */
  async next(): Promise<PacketRecord | null> {
    const chunk = this.chunk;
    for (;;) {
      if (chunk.base + chunk.pos >= this.endOffset) return null;
      const status = this.parseOne();
      if (status === Parse.Packet) return this.rec;
      if (status === Parse.NeedMore && !(await this.more())) return null;
    }
  }

  /**
   * The scanning fast path: visits every complete packet already buffered, synchronously, reading
   * one more chunk first when none is. Resolves to the number of packets visited; 0 means the end
   * of the data (call again later to follow a growing file).
   */
  async readBatch(visit: RecordVisitor): Promise<number> {
    const chunk = this.chunk;
    const rec = this.rec;
    for (;;) {
      let count = 0;
      for (;;) {
        if (chunk.base + chunk.pos >= this.endOffset) return count;
        const status = this.parseOne();
        if (status === Parse.Packet) {
          count += 1;
          if (visit(rec) === false) return count;
        } else if (status === Parse.NeedMore) {
          break;
        }
      }
      if (count > 0) return count;
      if (!(await this.more())) return 0;
    }
  }

  /**
   * Continues reading at a record offset (one a reader reported as `fileOffset`, or an index
   * holds). An offset inside a record is not detected here; its garbage fails as a format error.
   */
  async seek(offset: number): Promise<void> {
    if (!Number.isSafeInteger(offset) || offset < this.dataOffset) {
      throw new PcapFormatError(this.name, offset, "seek offset is not a record offset");
    }
    this.chunk.moveTo(offset);
    this.truncatedTail = null;
  }

  /** Closes the file; calling it again does nothing. The reader must not be used afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chunk.close();
  }

  /** Reads more bytes for the record at the position; false (and {@link truncatedTail}) at end of data. */
  protected async more(): Promise<boolean> {
    const chunk = this.chunk;
    if (await chunk.fill(this.need)) {
      this.truncatedTail = null;
      return true;
    }
    const bytes = chunk.end - chunk.pos;
    this.truncatedTail = bytes > 0 ? { offset: chunk.offset, bytes } : null;
    return false;
  }

  /** A format error at a buffer index of the current chunk. */
  protected corrupt(index: number, reason: string): PcapFormatError {
    return new PcapFormatError(this.name, this.chunk.base + index, reason);
  }
}
