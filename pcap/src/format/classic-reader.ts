/**
 * Classic libpcap files: a 24-byte header then 16-byte record headers, in either byte order, with
 * microsecond (a1b2c3d4) or nanosecond (a1b23c4d) timestamps.
 */
import { MAX_CAPLEN, PcapFormatError } from "../types.js";
import { CaptureReader, Parse } from "./capture-reader.js";
import type { ChunkBuffer } from "./chunk-buffer.js";

/** Magic numbers as read little-endian from the first four bytes. */
export const ClassicMagic = {
  /** Microseconds, little-endian file. */
  MicroLE: 0xa1b2c3d4,
  /** Microseconds, big-endian file. */
  MicroBE: 0xd4c3b2a1,
  /** Nanoseconds, little-endian file. */
  NanoLE: 0xa1b23c4d,
  /** Nanoseconds, big-endian file. */
  NanoBE: 0x4d3cb2a1,
} as const;

/** Size of the classic file header. */
export const CLASSIC_HEADER_LENGTH = 24;
/** Size of a classic record header. */
export const CLASSIC_RECORD_HEADER_LENGTH = 16;
/** Largest classic record: header plus the largest caplen accepted. */
export const CLASSIC_MAX_RECORD = CLASSIC_RECORD_HEADER_LENGTH + MAX_CAPLEN;

/** Returns true when the first four bytes (read little-endian) are a classic pcap magic. */
export function isClassicMagic(magic: number): boolean {
  return (
    magic === ClassicMagic.MicroLE ||
    magic === ClassicMagic.MicroBE ||
    magic === ClassicMagic.NanoLE ||
    magic === ClassicMagic.NanoBE
  );
}

/** Reader of classic pcap files; build it with `openCapture`. */
export class ClassicReader extends CaptureReader {
  /** Always "pcap". */
  readonly format = "pcap";
  private readonly le: boolean;
  private readonly linkType: number;

  /** Parses the header, which must already be buffered (24 bytes at buffer offset 0). */
  constructor(chunk: ChunkBuffer, name: string) {
    super(chunk, name);
    const buf = chunk.buf;
    const magic = buf.readUInt32LE(0);
    if (!isClassicMagic(magic)) throw new PcapFormatError(name, 0, "not a classic pcap magic");
    this.le = magic === ClassicMagic.MicroLE || magic === ClassicMagic.NanoLE;
    this.littleEndian = this.le;
    this.nanosecond = magic === ClassicMagic.NanoLE || magic === ClassicMagic.NanoBE;
    const major = this.le ? buf.readUInt16LE(4) : buf.readUInt16BE(4);
    // libpcap reads every 2.x file and nothing else; 1.x predates the current record layout.
    if (major !== 2) throw new PcapFormatError(name, 4, `unsupported pcap version ${major}`);
    this.snaplen = this.u32(buf, 16);
    // The upper bits carry the FCS length and flag, not the link type.
    this.linkType = this.u32(buf, 20) & 0xffff;
    this.linkTypes.push(this.linkType);
    this.headerBytes = Buffer.from(buf.subarray(0, CLASSIC_HEADER_LENGTH));
    this.dataOffset = CLASSIC_HEADER_LENGTH;
    chunk.pos = CLASSIC_HEADER_LENGTH;
  }

  /**
   * One record. Like libpcap (sf-pcap.c), a caplen above the engine maximum is corrupt; a caplen
   * above the header snaplen but within the maximum is accepted whole (libpcap would discard the
   * excess bytes; keeping them keeps records byte-identical). caplen > origLen is tolerated, as
   * both libpcap and Wireshark do.
   */
  protected parseOne(): number {
    const chunk = this.chunk;
    const buf = chunk.buf;
    const pos = chunk.pos;
    const avail = chunk.end - pos;
    if (avail < CLASSIC_RECORD_HEADER_LENGTH) {
      this.need = CLASSIC_RECORD_HEADER_LENGTH;
      return Parse.NeedMore;
    }
    const caplen = this.u32(buf, pos + 8);
    if (caplen > MAX_CAPLEN) {
      throw this.corrupt(pos, `caplen ${caplen} exceeds the maximum of ${MAX_CAPLEN}`);
    }
    const total = CLASSIC_RECORD_HEADER_LENGTH + caplen;
    if (avail < total) {
      this.need = total;
      return Parse.NeedMore;
    }
    let sec = this.u32(buf, pos);
    let nsec = this.nanosecond ? this.u32(buf, pos + 4) : this.u32(buf, pos + 4) * 1000;
    if (nsec >= 1_000_000_000) {
      // Broken writers emit fractions of a second or more; carry them so tsNsec stays < 10^9.
      const carry = Math.floor(nsec / 1_000_000_000);
      sec += carry;
      nsec -= carry * 1_000_000_000;
    }
    const rec = this.rec;
    rec.buf = buf;
    rec.dataOffset = pos + CLASSIC_RECORD_HEADER_LENGTH;
    rec.caplen = caplen;
    rec.origLen = this.u32(buf, pos + 12);
    rec.tsSec = sec;
    rec.tsNsec = nsec;
    rec.linkType = this.linkType;
    rec.interfaceId = 0;
    rec.fileOffset = chunk.base + pos;
    rec.recordLength = total;
    chunk.pos = pos + total;
    return Parse.Packet;
  }

  private u32(buf: Buffer, offset: number): number {
    return this.le ? buf.readUInt32LE(offset) : buf.readUInt32BE(offset);
  }
}
