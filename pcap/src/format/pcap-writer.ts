/**
 * Classic pcap output, little-endian. A record read from a little-endian classic file of the same
 * precision is written back byte for byte: the header fields are copied as the same values.
 */
import { MAX_CAPLEN, type PacketRecord, PcapFormatError } from "../types.js";
import { ClassicMagic } from "./classic-reader.js";
import { BufferedWriter, type ByteSink, DEFAULT_WRITE_CHUNK, toByteSink, type WriteTarget } from "./sink.js";

/** Options of {@link createPcapWriter}. */
export interface PcapWriterOptions {
  /** LINKTYPE_* of every record (classic pcap has one per file). */
  linkType: number;
  /** Snapshot length written in the header; longer records are cut to it. Default {@link MAX_CAPLEN}. */
  snaplen: number;
  /** Nanosecond timestamps (magic a1b23c4d) instead of microseconds. Default false. */
  nanosecond: boolean;
  /** Output chunk size in bytes. Default 1 MiB. */
  chunkSize: number;
  /** For a Writable target: end it on close. Default true. */
  end: boolean;
}

const MAX_U32 = 0xffff_ffff;

/** Writes classic pcap records; see {@link BufferedWriter} for the write/drain/close loop. */
export class PcapWriter extends BufferedWriter {
  /** LINKTYPE_* of the file. */
  readonly linkType: number;
  /** Snapshot length of the file. */
  readonly snaplen: number;
  /** Whether timestamps are written in nanoseconds. */
  readonly nanosecond: boolean;

  /** Prefer {@link createPcapWriter}; this writes the file header into the first chunk. */
  constructor(sink: ByteSink, options: Partial<PcapWriterOptions> & { linkType: number }) {
    super(sink, options.chunkSize ?? DEFAULT_WRITE_CHUNK);
    this.linkType = options.linkType;
    this.snaplen = Math.min(options.snaplen ?? MAX_CAPLEN, MAX_CAPLEN);
    this.nanosecond = options.nanosecond ?? false;
    const out = this.out;
    out.writeUInt32LE(this.nanosecond ? ClassicMagic.NanoLE : ClassicMagic.MicroLE, 0);
    out.writeUInt16LE(2, 4);
    out.writeUInt16LE(4, 6);
    out.writeInt32LE(0, 8);
    out.writeUInt32LE(0, 12);
    out.writeUInt32LE(this.snaplen, 16);
    out.writeUInt32LE(this.linkType, 20);
    this.used = 24;
  }

  /**
   * Appends a record (copied: the caller may reuse it at once). Data beyond the snaplen is cut,
   * the original length is kept. Returns false when the caller should `await drain()` first.
   * Throws a {@link PcapFormatError} for a record the file cannot hold (other link type,
   * timestamp outside 1970..2106).
   */
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

  /** Like {@link PcapWriter.write}, from separate fields (for producers without a PacketRecord). */
  writePacket(
    data: Buffer,
    dataOffset: number,
    caplen: number,
    origLen: number,
    tsSec: number,
    tsNsec: number,
    linkType: number = this.linkType,
  ): boolean {
    if (linkType !== this.linkType) {
      throw new PcapFormatError(
        this.sink.name,
        this.bytesWritten,
        `link type ${linkType} in a file of link type ${this.linkType}`,
      );
    }
    if (!(tsSec >= 0 && tsSec <= MAX_U32)) {
      throw new PcapFormatError(this.sink.name, this.bytesWritten, `timestamp ${tsSec} out of range`);
    }
    const length = Math.min(caplen, this.snaplen);
    this.reserve(16 + length);
    const out = this.out;
    const at = this.used;
    out.writeUInt32LE(tsSec, at);
    // Microsecond output truncates, as libpcap does when it reads a nanosecond file at µs precision.
    out.writeUInt32LE(this.nanosecond ? tsNsec : Math.floor(tsNsec / 1000), at + 4);
    out.writeUInt32LE(length, at + 8);
    out.writeUInt32LE(origLen, at + 12);
    data.copy(out, at + 16, dataOffset, dataOffset + length);
    this.used = at + 16 + length;
    return !this.sink.full;
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
  const sink = await toByteSink(target, options.end === undefined ? {} : { end: options.end });
  return new PcapWriter(sink, options);
}
