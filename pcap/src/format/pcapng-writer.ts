/**
 * pcapng output, for merges whose inputs have different link types (classic pcap has one per
 * file): one little-endian section, one Interface Description Block per link type with
 * nanosecond resolution, and Enhanced Packet Blocks.
 */
import { MAX_CAPLEN, type PacketRecord, PcapFormatError } from "../types.js";
import { BlockType, BYTE_ORDER_MAGIC } from "./pcapng-blocks.js";
import { BufferedWriter, type ByteSink, DEFAULT_WRITE_CHUNK, toByteSink, type WriteTarget } from "./sink.js";
import { nanosToHalves } from "./timestamp.js";

/** An interface to declare up front, so interface ids follow the caller's order. */
export interface PcapngWriterInterface {
  /** LINKTYPE_* of its packets. */
  linkType: number;
  /** Snapshot length; default: the writer's. */
  snaplen?: number;
}

/** Options of {@link createPcapngWriter}. */
export interface PcapngWriterOptions {
  /** Snapshot length of interfaces created on demand; longer records are cut. Default {@link MAX_CAPLEN}. */
  snaplen: number;
  /** Interfaces written right after the section header, in this order. */
  interfaces: readonly PcapngWriterInterface[];
  /** Output chunk size in bytes. Default 1 MiB. */
  chunkSize: number;
  /** For a Writable target: end it on close. Default true. */
  end: boolean;
}

const SHB_LENGTH = 28;
/** IDB: 16-byte body, `if_tsresol` option (8 bytes padded), `opt_endofopt` (4), trailing length. */
const IDB_LENGTH = 32;
const IF_TSRESOL = 9;
const TSRESOL_NANOSECONDS = 9;
const EPB_OVERHEAD = 32;

/** Writes pcapng; see {@link BufferedWriter} for the write/drain/close loop. */
export class PcapngWriter extends BufferedWriter {
  private readonly snaplen: number;
  private readonly idByLinkType = new Map<number, number>();
  private readonly snaplens: number[] = [];
  private readonly halves = new Uint32Array(2);

  /** Prefer {@link createPcapngWriter}; this writes the section header into the first chunk. */
  constructor(sink: ByteSink, options: Partial<PcapngWriterOptions> = {}) {
    super(sink, options.chunkSize ?? DEFAULT_WRITE_CHUNK);
    this.snaplen = Math.min(options.snaplen ?? MAX_CAPLEN, MAX_CAPLEN);
    const out = this.out;
    out.writeUInt32LE(BlockType.SectionHeader, 0);
    out.writeUInt32LE(SHB_LENGTH, 4);
    out.writeUInt32LE(BYTE_ORDER_MAGIC, 8);
    out.writeUInt16LE(1, 12);
    out.writeUInt16LE(0, 14);
    // Section length -1: unknown, as for any file written as a stream.
    out.writeInt32LE(-1, 16);
    out.writeInt32LE(-1, 20);
    out.writeUInt32LE(SHB_LENGTH, 24);
    this.used = SHB_LENGTH;
    for (const iface of options.interfaces ?? []) this.addInterface(iface.linkType, iface.snaplen);
  }

  /** Number of interfaces written so far. */
  get interfaceCount(): number {
    return this.snaplens.length;
  }

  /**
   * Writes an Interface Description Block and returns its id. The first interface of a link type
   * is the one {@link PcapngWriter.write} uses for records of that type.
   */
  addInterface(linkType: number, snaplen: number = this.snaplen): number {
    const id = this.snaplens.length;
    this.reserve(IDB_LENGTH);
    const out = this.out;
    const at = this.used;
    out.writeUInt32LE(BlockType.InterfaceDescription, at);
    out.writeUInt32LE(IDB_LENGTH, at + 4);
    out.writeUInt16LE(linkType, at + 8);
    out.writeUInt16LE(0, at + 10);
    out.writeUInt32LE(snaplen, at + 12);
    out.writeUInt16LE(IF_TSRESOL, at + 16);
    out.writeUInt16LE(1, at + 18);
    out.writeUInt32LE(TSRESOL_NANOSECONDS, at + 20);
    out.writeUInt32LE(0, at + 24);
    out.writeUInt32LE(IDB_LENGTH, at + 28);
    this.used = at + IDB_LENGTH;
    this.snaplens.push(snaplen === 0 ? MAX_CAPLEN : Math.min(snaplen, MAX_CAPLEN));
    if (!this.idByLinkType.has(linkType)) this.idByLinkType.set(linkType, id);
    return id;
  }

  /**
   * Appends a record on the interface of its link type (created on first use). Returns false when
   * the caller should `await drain()` first.
   */
  write(rec: PacketRecord): boolean {
    const id = this.idByLinkType.get(rec.linkType) ?? this.addInterface(rec.linkType);
    return this.writePacket(id, rec.buf, rec.dataOffset, rec.caplen, rec.origLen, rec.tsSec, rec.tsNsec);
  }

  /** Appends a packet on a given interface id, from separate fields. */
  writePacket(
    interfaceId: number,
    data: Buffer,
    dataOffset: number,
    caplen: number,
    origLen: number,
    tsSec: number,
    tsNsec: number,
  ): boolean {
    const snaplen = this.snaplens[interfaceId];
    if (snaplen === undefined) {
      throw new PcapFormatError(this.sink.name, this.bytesWritten, `undefined interface ${interfaceId}`);
    }
    if (!(tsSec >= 0 && tsSec < 2 ** 34)) {
      throw new PcapFormatError(this.sink.name, this.bytesWritten, `timestamp ${tsSec} out of range`);
    }
    const length = Math.min(caplen, snaplen);
    const padded = (length + 3) & ~3;
    const total = EPB_OVERHEAD + padded;
    this.reserve(total);
    const out = this.out;
    const at = this.used;
    const halves = this.halves;
    nanosToHalves(tsSec, tsNsec, halves);
    out.writeUInt32LE(BlockType.EnhancedPacket, at);
    out.writeUInt32LE(total, at + 4);
    out.writeUInt32LE(interfaceId, at + 8);
    out.writeUInt32LE(halves[0] ?? 0, at + 12);
    out.writeUInt32LE(halves[1] ?? 0, at + 16);
    out.writeUInt32LE(length, at + 20);
    out.writeUInt32LE(origLen, at + 24);
    data.copy(out, at + 28, dataOffset, dataOffset + length);
    // Padding is zeroed so output is deterministic (the chunk comes from allocUnsafe).
    out.fill(0, at + 28 + length, at + 28 + padded);
    out.writeUInt32LE(total, at + 28 + padded);
    this.used = at + total;
    return !this.sink.full;
  }
}

/**
 * Creates a pcapng writer (one little-endian section, nanosecond interfaces) on a path,
 * descriptor, Writable or {@link ByteSink}.
 */
export async function createPcapngWriter(
  target: WriteTarget,
  options: Partial<PcapngWriterOptions> = {},
): Promise<PcapngWriter> {
  const sink = await toByteSink(target, options.end === undefined ? {} : { end: options.end });
  return new PcapngWriter(sink, options);
}
