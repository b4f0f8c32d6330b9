/**
 * Classic pcap output, little-endian: the one place where classic file and record headers are
 * written (µs or ns timestamps, records cut to the snapshot length). A record read from a
 * little-endian classic file of the same precision is written back byte for byte: the header
 * fields are copied as the same values. Runs of such records can skip the field-by-field path
 * altogether ({@link PcapWriter.writeRecords}), which is what the merge does.
 */
import { MAX_CAPLEN, type PacketRecord, PcapFormatError } from "../types.js";
import { BufferedWriter, ChunkedOutput } from "./chunked-output.js";
import { ClassicMagic } from "./classic-reader.js";
import type { WriteTarget } from "./sink.js";

/** Options of {@link createPcapWriter}. */
export interface PcapWriterOptions {
  /** LINKTYPE_* of every record (classic pcap has one per file). */
  linkType: number;
  /** Snapshot length written in the header; longer records are cut to it. Default {@link MAX_CAPLEN}. */
  snaplen: number;
  /**
   * Cut records to this many bytes instead of `snaplen`. mergecap advertises the inputs' largest
   * snapshot length but cuts only when asked (`-s`). Default: `snaplen`.
   */
  cut: number;
  /** Nanosecond timestamps (magic a1b23c4d) instead of microseconds. Default false. */
  nanosecond: boolean;
  /** Output chunk size in bytes (at least 64 KiB). Default 1 MiB. */
  chunkSize: number;
  /** For a Writable target: end it on close. Default true. */
  end: boolean;
  /** Write a regular file's chunks as soon as they are full, several at once (see `ChunkedOutputOptions`). Default false. */
  concurrentWrites: boolean;
}

/** Classic file header length. */
const CLASSIC_FILE_HEADER = 24;
/** Classic record header length: seconds, fraction, caplen, original length. */
export const CLASSIC_RECORD_HEADER = 16;
/** Largest second a classic pcap timestamp holds (unsigned 32 bits). */
export const CLASSIC_MAX_SEC = 0xffff_ffff;

/** Writes classic pcap records; see {@link BufferedWriter} for the write/drain/close loop. */
export class PcapWriter extends BufferedWriter {
  /** LINKTYPE_* of the file. */
  readonly linkType: number;
  /** Snapshot length of the file. */
  readonly snaplen: number;
  /** Whether timestamps are written in nanoseconds. */
  readonly nanosecond: boolean;
  private readonly cut: number;

  /** Prefer {@link createPcapWriter}; this writes the file header into the first chunk. */
  constructor(out: ChunkedOutput, options: Partial<PcapWriterOptions> & { linkType: number }) {
    super(out);
    this.linkType = options.linkType;
    this.snaplen = Math.min(options.snaplen ?? MAX_CAPLEN, MAX_CAPLEN);
    this.cut = Math.min(options.cut ?? this.snaplen, MAX_CAPLEN);
    this.nanosecond = options.nanosecond ?? false;
    out.reserve(CLASSIC_FILE_HEADER);
    const view = out.view;
    const at = out.used;
    view.setUint32(at, this.nanosecond ? ClassicMagic.NanoLE : ClassicMagic.MicroLE, true);
    view.setUint16(at + 4, 2, true);
    view.setUint16(at + 6, 4, true);
    view.setInt32(at + 8, 0, true);
    view.setUint32(at + 12, 0, true);
    view.setUint32(at + 16, this.snaplen, true);
    view.setUint32(at + 20, this.linkType, true);
    out.used = at + CLASSIC_FILE_HEADER;
  }

  /** Appends a record; see {@link BufferedWriter.write}. */
  write(rec: PacketRecord): boolean {
    return this.writePacket(
      rec.buf,
      rec.dataOffset,
      rec.caplen,
      rec.origLen,
      rec.tsSec,
      rec.tsNsec,
      rec.linkType,
    );
  }

  /**
   * Like {@link PcapWriter.write}, from separate fields (for producers without a PacketRecord).
   * Throws a {@link PcapFormatError} for a record the file cannot hold (other link type,
   * timestamp outside 1970..2106).
   */
  writePacket(
    data: Buffer,
    dataOffset: number,
    caplen: number,
    origLen: number,
    tsSec: number,
    tsNsec: number,
    linkType: number = this.linkType,
  ): boolean {
    if (linkType !== this.linkType || !(tsSec >= 0 && tsSec <= CLASSIC_MAX_SEC)) this.refuse(linkType, tsSec);
    const length = Math.min(caplen, this.cut);
    const out = this.out;
    out.reserve(CLASSIC_RECORD_HEADER + length);
    const view = out.view;
    const at = out.used;
    view.setUint32(at, tsSec, true);
    // Microsecond output truncates, as libpcap does when it reads a nanosecond file at µs precision.
    view.setUint32(at + 4, this.nanosecond ? tsNsec : Math.floor(tsNsec / 1000), true);
    view.setUint32(at + 8, length, true);
    view.setUint32(at + 12, origLen, true);
    data.copy(out.buf, at + CLASSIC_RECORD_HEADER, dataOffset, dataOffset + length);
    out.used = at + CLASSIC_RECORD_HEADER + length;
    return !out.needsDrain;
  }

  /**
   * Appends `src[start, end)` as it is. The bytes must be whole records in this file's form
   * (little-endian classic headers, this precision, link type and cut), which the caller checks:
   * runs of unchanged source records then cost one copy instead of one per field.
   */
  writeRecords(src: Buffer, start: number, end: number): boolean {
    this.out.append(src, start, end);
    return !this.out.needsDrain;
  }

  /** The error for a record the file cannot hold; out of line, so the packet path stays small. */
  private refuse(linkType: number, tsSec: number): never {
    throw new PcapFormatError(
      this.out.name,
      this.bytesWritten,
      linkType !== this.linkType
        ? `link type ${linkType} in a file of link type ${this.linkType}`
        : `timestamp ${tsSec} out of range`,
    );
  }

  /** Bytes a record of `caplen` captured bytes takes: its header and data, cut to the snaplen. */
  recordBytes(caplen: number): number {
    return CLASSIC_RECORD_HEADER + Math.min(caplen, this.cut);
  }
}

/**
 * Creates a classic pcap writer (little-endian, µs unless `nanosecond`) on a path, descriptor,
 * Writable or {@link ByteSink}; the file header is written immediately.
 */
export async function createPcapWriter(
  target: WriteTarget,
  options: Partial<PcapWriterOptions> & { linkType: number },
): Promise<PcapWriter> {
  const out = await ChunkedOutput.open(target, options);
  return new PcapWriter(out, options);
}
