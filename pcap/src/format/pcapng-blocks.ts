/**
 * pcapng block vocabulary and the parsing of the blocks that set reader state (Section Header
 * and Interface Description), kept out of the packet loop.
 */
import { PcapFormatError } from "../types.js";
import { TsConverter } from "./timestamp.js";

/** Block type codes (pcapng specification, section 11.1). */
export const BlockType = {
  /** Section Header Block; the value reads the same in both byte orders. */
  SectionHeader: 0x0a0d0d0a,
  /** Interface Description Block. */
  InterfaceDescription: 1,
  /** Obsolete Packet Block. */
  Packet: 2,
  /** Simple Packet Block. */
  SimplePacket: 3,
  /** Name Resolution Block. */
  NameResolution: 4,
  /** Interface Statistics Block. */
  InterfaceStatistics: 5,
  /** Enhanced Packet Block. */
  EnhancedPacket: 6,
  /** Decryption Secrets Block. */
  DecryptionSecrets: 0x0a,
  /** Custom Block that may be copied. */
  Custom: 0xbad,
} as const;

/** The byte-order magic of a Section Header Block. */
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/**
 * Largest block the reader buffers. libpcap refuses blocks over 16 MiB (sf-pcapng.c), so no
 * capture it reads is rejected here, and a corrupt length cannot make the reader allocate more.
 */
export const MAX_BLOCK_LENGTH = 16 * 1024 * 1024;
/** Smallest block: type, length, trailing length. */
export const MIN_BLOCK_LENGTH = 12;

const OPT_ENDOFOPT = 0;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;
const DEFAULT_TSRESOL = 6;

/** An interface of a pcapng section, as its Interface Description Block defines it. */
export interface PcapngInterface {
  /** LINKTYPE_* of its packets. */
  readonly linkType: number;
  /** Snapshot length; 0 means unlimited. */
  readonly snaplen: number;
  /** The raw `if_tsresol` byte (6, microseconds, when absent). */
  readonly tsresol: number;
  /** `if_tsoffset`: seconds added to every timestamp (0 when absent). */
  readonly tsoffset: number;
  /** Converts this interface's timestamps. */
  readonly clock: TsConverter;
}

/** A section: its byte order and the interfaces defined in it so far. */
export interface PcapngSection {
  /** File offset of its Section Header Block. */
  readonly offset: number;
  /** Byte order of every block in the section. */
  readonly le: boolean;
  /** Interfaces by id, in IDB order. */
  readonly interfaces: PcapngInterface[];
}

/** Reads an unsigned 32-bit value in the given byte order. */
export function u32(buf: Buffer, offset: number, le: boolean): number {
  return le ? buf.readUInt32LE(offset) : buf.readUInt32BE(offset);
}

/** Reads an unsigned 16-bit value in the given byte order. */
export function u16(buf: Buffer, offset: number, le: boolean): number {
  return le ? buf.readUInt16LE(offset) : buf.readUInt16BE(offset);
}

/**
 * Tells the byte order of the Section Header Block at `pos` (at least 12 bytes buffered) from its
 * byte-order magic; throws when it is neither.
 */
export function sectionByteOrder(buf: Buffer, pos: number, name: string, at: number): boolean {
  if (buf.readUInt32LE(pos + 8) === BYTE_ORDER_MAGIC) return true;
  if (buf.readUInt32BE(pos + 8) === BYTE_ORDER_MAGIC) return false;
  throw new PcapFormatError(name, at + 8, "bad pcapng byte-order magic");
}

/** Validates a Section Header Block (fully buffered at `pos`, length already checked) and starts a section. */
export function parseSectionHeader(
  buf: Buffer,
  pos: number,
  length: number,
  le: boolean,
  name: string,
  at: number,
): PcapngSection {
  if (length < 28) throw new PcapFormatError(name, at, `section header block too short (${length})`);
  const major = u16(buf, pos + 12, le);
  // Major 2 would be an incompatible format; libpcap and Wireshark refuse it too.
  if (major !== 1) throw new PcapFormatError(name, at + 12, `unsupported pcapng version ${major}`);
  return { offset: at, le, interfaces: [] };
}

/**
 * Parses an Interface Description Block fully buffered at `pos`. Options are walked with bounds
 * checks so a corrupt option length fails as a format error instead of reading past the block.
 */
export function parseInterface(
  buf: Buffer,
  pos: number,
  length: number,
  le: boolean,
  name: string,
  at: number,
): PcapngInterface {
  if (length < 20) throw new PcapFormatError(name, at, `interface description block too short (${length})`);
  const linkType = u16(buf, pos + 8, le);
  const snaplen = u32(buf, pos + 12, le);
  let tsresol = DEFAULT_TSRESOL;
  let tsoffset = 0;
  const end = pos + length - 4;
  let opt = pos + 16;
  while (opt < end) {
    if (end - opt < 4) throw new PcapFormatError(name, at + (opt - pos), "truncated option header");
    const code = u16(buf, opt, le);
    const size = u16(buf, opt + 2, le);
    if (code === OPT_ENDOFOPT) break;
    const value = opt + 4;
    if (value + size > end) throw new PcapFormatError(name, at + (opt - pos), "option overruns its block");
    if (code === IF_TSRESOL) {
      if (size !== 1) throw new PcapFormatError(name, at + (opt - pos), `if_tsresol of length ${size}`);
      tsresol = buf.readUInt8(value);
    } else if (code === IF_TSOFFSET) {
      if (size !== 8) throw new PcapFormatError(name, at + (opt - pos), `if_tsoffset of length ${size}`);
      // Once per interface, so BigInt is affordable here; offsets beyond 2^53 s are not real.
      tsoffset = Number(le ? buf.readBigInt64LE(value) : buf.readBigInt64BE(value));
    }
    opt = value + ((size + 3) & ~3);
  }
  const clock = TsConverter.fromTsresol(tsresol);
  if (clock === null) throw new PcapFormatError(name, at, `unsupported if_tsresol 0x${tsresol.toString(16)}`);
  return { linkType, snaplen, tsresol, tsoffset, clock };
}
