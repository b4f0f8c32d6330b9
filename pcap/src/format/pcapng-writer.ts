/**
 * pcapng output, for merges whose inputs have different link types (classic pcap has one per
 * file): one little-endian section, one Interface Description Block per link type with
 * nanosecond resolution, and Enhanced Packet Blocks.
 */
import { MAX_CAPLEN, type PacketRecord, PcapFormatError } from "../types.js";
import { BufferedWriter, ChunkedOutput } from "./chunked-output.js";
import { BlockType, BYTE_ORDER_MAGIC } from "./pcapng-blocks.js";
import type { WriteTarget } from "./sink.js";
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
  /** Output chunk size in bytes (at least 64 KiB). Default 1 MiB. */
  chunkSize: number;
  /** For a Writable target: end it on close. Default true. */
  end: boolean;
  /** Write a regular file's chunks as soon as they are full, several at once (see `ChunkedOutputOptions`). Default false. */
  concurrentWrites: boolean;
}

const SHB_LENGTH = 28;
/** IDB: 16-byte body, `if_tsresol` option (8 bytes padded), `opt_endofopt` (4), trailing length. */
const IDB_LENGTH = 32;
const IF_TSRESOL = 9;
const TSRESOL_NANOSECONDS = 9;
/** Enhanced Packet Block bytes besides the (padded) data: header, fields, trailing length. */
const EPB_OVERHEAD = 32;
/** Largest second the writer accepts: nanoseconds since 1970 must fit the 64-bit timestamp. */
export const PCAPNG_MAX_SEC = 2 ** 34 - 1;

/** Writes pcapng; see {@link BufferedWriter} for the write/drain/close loop. */
export class PcapngWriter extends BufferedWriter {
  private readonly snaplen: number;
  private readonly idByLinkType = new Map<number, number>();
  private readonly snaplens: number[] = [];
  private readonly halves = new Uint32Array(2);

  /** Prefer {@link createPcapngWriter}; this writes the section header into the first chunk. */
  constructor(out: ChunkedOutput, options: Partial<PcapngWriterOptions> = {}) {
    super(out);
    this.snaplen = Math.min(options.snaplen ?? MAX_CAPLEN, MAX_CAPLEN);
    const at = this.block(BlockType.SectionHeader, SHB_LENGTH);
    const view = out.view;
    view.setUint32(at + 8, BYTE_ORDER_MAGIC, true);
    view.setUint16(at + 12, 1, true);
    view.setUint16(at + 14, 0, true);
    // Section length -1: unknown, as for any file written as a stream.
    view.setInt32(at + 16, -1, true);
    view.setInt32(at + 20, -1, true);
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
    const at = this.block(BlockType.InterfaceDescription, IDB_LENGTH);
    const view = this.out.view;
    view.setUint16(at + 8, linkType, true);
    view.setUint16(at + 10, 0, true);
    view.setUint32(at + 12, snaplen, true);
    view.setUint16(at + 16, IF_TSRESOL, true);
    view.setUint16(at + 18, 1, true);
    view.setUint32(at + 20, TSRESOL_NANOSECONDS, true);
    view.setUint32(at + 24, 0, true);
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

  /** Bytes an Enhanced Packet Block of `caplen` captured bytes takes, cut to the writer's snaplen. */
  recordBytes(caplen: number): number {
    return EPB_OVERHEAD + ((Math.min(caplen, this.snaplen) + 3) & ~3);
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
    if (snaplen === undefined || !(tsSec >= 0 && tsSec <= PCAPNG_MAX_SEC)) this.refuse(interfaceId, tsSec);
    const length = Math.min(caplen, snaplen);
    const padded = (length + 3) & ~3;
    const at = this.block(BlockType.EnhancedPacket, EPB_OVERHEAD + padded);
    const view = this.out.view;
    const halves = this.halves;
    nanosToHalves(tsSec, tsNsec, halves);
    view.setUint32(at + 8, interfaceId, true);
    view.setUint32(at + 12, halves[0] ?? 0, true);
    view.setUint32(at + 16, halves[1] ?? 0, true);
    view.setUint32(at + 20, length, true);
    view.setUint32(at + 24, origLen, true);
    const buf = this.out.buf;
    data.copy(buf, at + 28, dataOffset, dataOffset + length);
    // Padding is zeroed so output is deterministic (chunks come from allocUnsafe and are reused).
    buf.fill(0, at + 28 + length, at + 28 + padded);
    return !this.out.needsDrain;
  }

  /** The error for a packet the file cannot hold; out of line, so the packet path stays small. */
  private refuse(interfaceId: number, tsSec: number): never {
    throw new PcapFormatError(
      this.out.name,
      this.bytesWritten,
      this.snaplens[interfaceId] === undefined
        ? `undefined interface ${interfaceId}`
        : `timestamp ${tsSec} out of range`,
    );
  }

  /**
   * Starts a block of `length` bytes (a multiple of 4) in the output: writes its type, its
   * length at both ends, and returns its offset in the chunk for the body to be filled in.
   */
  private block(type: number, length: number): number {
    const out = this.out;
    out.reserve(length);
    const view = out.view;
    const at = out.used;
    view.setUint32(at, type, true);
    view.setUint32(at + 4, length, true);
    view.setUint32(at + length - 4, length, true);
    out.used = at + length;
    return at;
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
  const out = await ChunkedOutput.open(target, options);
  return new PcapngWriter(out, options);
}
