/**
 * Shared vocabulary of the PCAP engine: link types, the reusable packet record cursor,
 * and the typed errors every part of the engine throws.
 */
import { AppError, ErrorCode } from "@pcapfleet/core/errors";

/** LINKTYPE_* values (tcpdump.org/linktypes.html) the engine reads. */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** Largest caplen the engine accepts; larger records are corrupt (libpcap's own limit). */
export const MAX_CAPLEN = 262_144;

/**
 * One packet as a reader yields it. Readers reuse a single instance and overwrite its
 * fields for every packet, so the packet loop allocates nothing: copy what you keep.
 */
export interface PacketRecord {
  /** Buffer that holds the packet bytes (a reader's chunk buffer; valid until the next packet). */
  buf: Buffer;
  /** Offset of the first packet byte in `buf`. */
  dataOffset: number;
  /** Captured length: bytes present in `buf` from `dataOffset`. */
  caplen: number;
  /** Original length on the wire. */
  origLen: number;
  /** Timestamp, whole seconds since the epoch. */
  tsSec: number;
  /** Timestamp, nanoseconds within the second (0..999_999_999), whatever the file's precision. */
  tsNsec: number;
  /** LINKTYPE_* of the packet (per interface in pcapng). */
  linkType: number;
  /** pcapng interface id (0 for classic pcap). */
  interfaceId: number;
  /** Byte offset of the record (its header) in the file. */
  fileOffset: number;
  /** Length in bytes of the whole record in the file (header, data, padding, options). */
  recordLength: number;
}

/** Creates an empty record, for readers to fill. */
export function emptyRecord(): PacketRecord {
  return {
    buf: Buffer.alloc(0),
    dataOffset: 0,
    caplen: 0,
    origLen: 0,
    tsSec: 0,
    tsNsec: 0,
    linkType: 0,
    interfaceId: 0,
    fileOffset: 0,
    recordLength: 0,
  };
}

/** Orders two timestamps: negative, zero or positive, like a comparator. */
export function compareTime(aSec: number, aNsec: number, bSec: number, bNsec: number): number {
  return aSec === bSec ? aNsec - bNsec : aSec - bSec;
}

/** A file that is not a capture, or a capture that is broken at some offset. */
export class PcapFormatError extends AppError {
  /** The file concerned. */
  readonly file: string;
  /** Byte offset where the problem is. */
  readonly offset: number;

  constructor(file: string, offset: number, reason: string, options: { cause?: unknown } = {}) {
    super(ErrorCode.InvalidArgument, `${file}: ${reason} at offset ${offset}`, {
      ...options,
      details: { file, offset },
    });
    this.file = file;
    this.offset = offset;
  }
}

/** A filter expression libpcap does not accept (for this link type); carries libpcap's message. */
export class FilterError extends AppError {
  /** The expression as given. */
  readonly expression: string;

  constructor(expression: string, reason: string, options: { cause?: unknown } = {}) {
    super(ErrorCode.InvalidArgument, `bad filter '${expression}': ${reason}`, {
      ...options,
      details: { expression },
    });
    this.expression = expression;
  }
}
