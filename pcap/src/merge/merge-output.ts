/**
 * The output side of a merge: which format the inputs call for, and the writers. Classic pcap
 * is written when every input has the same link type (nanosecond when any input is), pcapng
 * with one interface per link type otherwise. Classic output has a raw path: records of a
 * classic little-endian input with the output's precision are already in output form, so runs
 * of them are copied from the input's chunk buffer in one `copy` instead of field by field
 * (see {@link ClassicMergeWriter}).
 */
import {
  type CaptureReader,
  ClassicMagic,
  createPcapngWriter,
  type PcapngWriter,
  type WriteTarget,
} from "../format/index.js";
import { LinkType, MAX_CAPLEN, type PacketRecord } from "../types.js";
import type { InputRules } from "./merge-input.js";
import { type ChunkSink, toChunkSink } from "./merge-io.js";

/** Largest second a classic pcap timestamp holds (unsigned 32 bits). */
const CLASSIC_MAX_SEC = 0xffff_ffff;
/** Largest second the pcapng writer accepts (64-bit nanosecond count, bounded by the writer). */
const PCAPNG_MAX_SEC = 2 ** 34 - 1;

/** The output a set of inputs calls for. */
export interface OutputPlan {
  /** "pcap" when every input has one and the same link type, else "pcapng". */
  readonly format: "pcap" | "pcapng";
  /** Link types of the inputs, in order of first appearance (one for classic output). */
  readonly linkTypes: readonly number[];
  /** Nanosecond classic output (pcapng output is always nanosecond). */
  readonly nanosecond: boolean;
  /** Snapshot length the header advertises: the inputs' largest, as mergecap writes. */
  readonly headerSnaplen: number;
  /** Records are cut to this many bytes: the caller's `snaplen`, else never (MAX_CAPLEN). */
  readonly cut: number;
}

/**
 * Chooses the output for `readers` (the inputs that opened). `snaplen` cuts records like
 * `mergecap -s`; `emptyLinkType` is the link type of a merge with no readable input.
 */
export function planOutput(
  readers: readonly CaptureReader[],
  snaplen: number | undefined,
  emptyLinkType: number = LinkType.ETHERNET,
): OutputPlan {
  const linkTypes: number[] = [];
  let nanosecond = false;
  let largest = 0;
  for (const reader of readers) {
    for (const type of reader.linkTypes) if (!linkTypes.includes(type)) linkTypes.push(type);
    if (reader.nanosecond) nanosecond = true;
    largest = Math.max(largest, reader.snaplen === 0 ? MAX_CAPLEN : Math.min(reader.snaplen, MAX_CAPLEN));
  }
  const cut = snaplen === undefined ? MAX_CAPLEN : Math.max(1, Math.min(snaplen, MAX_CAPLEN));
  const headerSnaplen = snaplen === undefined ? largest || MAX_CAPLEN : cut;
  if (linkTypes.length === 0) linkTypes.push(emptyLinkType);
  const format = linkTypes.length === 1 ? "pcap" : "pcapng";
  return { format, linkTypes, nanosecond, headerSnaplen, cut };
}

/** What each input must satisfy for this output (see {@link InputRules}). */
export function inputRules(plan: OutputPlan, reader: CaptureReader): InputRules {
  const classic = plan.format === "pcap";
  return {
    linkType: classic ? (plan.linkTypes[0] as number) : -1,
    maxSec: classic ? CLASSIC_MAX_SEC : PCAPNG_MAX_SEC,
    rawCopy:
      classic && reader.format === "pcap" && reader.littleEndian && reader.nanosecond === plan.nanosecond,
    snaplen: plan.cut,
  };
}

/** Classic file header length. */
const HEADER = 24;
/** Classic record header length. */
const RECORD_HEADER = 16;

/** Header fields of the output file. */
export interface ClassicHeader {
  /** LINKTYPE_* of every record. */
  linkType: number;
  /** Nanosecond timestamps (magic a1b23c4d) instead of microseconds. */
  nanosecond: boolean;
  /** Snapshot length written in the header. */
  headerSnaplen: number;
  /** Records are cut to this many bytes (MAX_CAPLEN: never). */
  cut: number;
}

/**
 * Writes classic pcap into chunks of a {@link ChunkSink}. The caller ensures every record has the
 * file's link type and a timestamp within 1970..2106 (the merge's inputs check this per packet).
 */
export class ClassicMergeWriter {
  /** Whether timestamps are written in nanoseconds. */
  readonly nanosecond: boolean;
  private readonly sink: ChunkSink;
  private readonly cut: number;
  private out: Buffer;
  private used = 0;
  private flushed = 0;
  private closed = false;

  /**
   * Writes the file header into the first chunk. Chunks must hold the largest record
   * (16 + MAX_CAPLEN bytes); the sink's chunk size is the caller's choice above that.
   */
  constructor(sink: ChunkSink, header: ClassicHeader) {
    this.sink = sink;
    this.nanosecond = header.nanosecond;
    this.cut = Math.min(header.cut, MAX_CAPLEN);
    const out = sink.take();
    out.writeUInt32LE(header.nanosecond ? ClassicMagic.NanoLE : ClassicMagic.MicroLE, 0);
    out.writeUInt16LE(2, 4);
    out.writeUInt16LE(4, 6);
    out.writeInt32LE(0, 8);
    out.writeUInt32LE(0, 12);
    out.writeUInt32LE(header.headerSnaplen, 16);
    out.writeUInt32LE(header.linkType, 20);
    this.out = out;
    this.used = HEADER;
  }

  /** Bytes written so far, including those still buffered. */
  get bytesWritten(): number {
    return this.flushed + this.used;
  }

  /** True when the caller should `await drain()` before writing more. */
  get needsDrain(): boolean {
    return this.sink.full;
  }

  /** Waits until the sink has room again. */
  drain(): Promise<void> {
    return this.sink.drain();
  }

  /** Appends a record, cut to the snaplen; returns false when the caller should drain first. */
  write(rec: PacketRecord): boolean {
    const length = Math.min(rec.caplen, this.cut);
    if (this.used + RECORD_HEADER + length > this.out.length) this.handOver();
    const out = this.out;
    const at = this.used;
    out.writeUInt32LE(rec.tsSec, at);
    // Microsecond output truncates, as libpcap does when it reads a nanosecond file at µs precision.
    out.writeUInt32LE(this.nanosecond ? rec.tsNsec : Math.floor(rec.tsNsec / 1000), at + 4);
    out.writeUInt32LE(length, at + 8);
    out.writeUInt32LE(rec.origLen, at + 12);
    rec.buf.copy(out, at + RECORD_HEADER, rec.dataOffset, rec.dataOffset + length);
    this.used = at + RECORD_HEADER + length;
    return !this.sink.full;
  }

  /**
   * Appends `src[start, end)`, which must be whole records in this file's format (they may span
   * chunks: the file is a byte stream). Returns false when the caller should drain first.
   */
  writeRecords(src: Buffer, start: number, end: number): boolean {
    let at = start;
    while (at < end) {
      if (this.used === this.out.length) this.handOver();
      const n = Math.min(this.out.length - this.used, end - at);
      src.copy(this.out, this.used, at, at + n);
      this.used += n;
      at += n;
    }
    return !this.sink.full;
  }

  /** Sends what is buffered, waits for every write, and closes the sink. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.used > 0) this.sink.write(this.out, this.used);
    this.flushed += this.used;
    this.used = 0;
    await this.sink.close();
  }

  /** Sends the current chunk and continues in an empty one. */
  private handOver(): void {
    this.sink.write(this.out, this.used);
    this.flushed += this.used;
    this.out = this.sink.take();
    this.used = 0;
  }
}

/** Smallest chunk the writer accepts: the largest record must fit in one. */
export const MIN_CLASSIC_CHUNK = 2 * (RECORD_HEADER + MAX_CAPLEN);

/** The writer a merge uses: classic (with the raw path) or pcapng. */
export type MergeWriter = ClassicMergeWriter | PcapngWriter;

/** Opens `target` and writes the file header (and pcapng interfaces) for `plan`. */
export async function createMergeWriter(
  target: WriteTarget,
  plan: OutputPlan,
  chunkSize: number,
): Promise<MergeWriter> {
  if (plan.format === "pcap") {
    const sink = await toChunkSink(target, Math.max(chunkSize, MIN_CLASSIC_CHUNK));
    return new ClassicMergeWriter(sink, { ...plan, linkType: plan.linkTypes[0] as number });
  }
  // Interface snaplen 0 means "not limited": records are only cut when the caller asked for it.
  const ifaceSnaplen = plan.cut === MAX_CAPLEN ? 0 : plan.cut;
  return createPcapngWriter(target, {
    snaplen: plan.cut,
    chunkSize,
    interfaces: plan.linkTypes.map((linkType) => ({ linkType, snaplen: ifaceSnaplen })),
  });
}
