/**
 * The output of a slice: classic pcap when the files have one link type (nanosecond when any
 * file is), pcapng with one interface per link type otherwise; and the packet writer that
 * applies the byte and packet caps. Records are written with the source's timestamp, lengths
 * and bytes: the same records `tcpdump -w` would write after reading them.
 */
import type { Writable } from "node:stream";
import { ClassicMagic } from "../format/classic-reader.js";
import { createPcapngWriter, type PcapngWriter } from "../format/pcapng-writer.js";
import type { ByteSink } from "../format/sink.js";
import { emptyRecord, LinkType, MAX_CAPLEN, type PacketRecord } from "../types.js";
import { META_STRIDE } from "./batch-source.js";
import type { CaptureFile } from "./catalogue.js";
import { effectiveSnaplen } from "./filter-set.js";
import { OutputChunks } from "./output-chunks.js";
import type { OutputRules } from "./record-scan.js";

/** Where a slice goes: a path (created or truncated), a Writable, or a ByteSink. */
export type SliceTarget = string | Writable | ByteSink;

/** The output a slice's files call for. */
export interface SliceOutputPlan {
  /** "pcap" for one link type, "pcapng" for several. */
  readonly format: "pcap" | "pcapng";
  /** Link types, in order of first appearance (one for classic output). */
  readonly linkTypes: readonly number[];
  /** Nanosecond timestamps in classic output (pcapng output always has them). */
  readonly nanosecond: boolean;
  /** Snapshot length of the header: the largest of the files', as mergecap writes. */
  readonly snaplen: number;
}

/** Largest second each output format holds. */
const CLASSIC_MAX_SEC = 0xffff_ffff;
const PCAPNG_MAX_SEC = 2 ** 34 - 1;
/** Enhanced Packet Block bytes besides the padded data. */
const EPB_OVERHEAD = 32;
/** Classic pcap file header and record header lengths. */
const CLASSIC_HEADER = 24;
const CLASSIC_RECORD = 16;

/**
 * Chooses the output for the files a slice reads (`files`); with none, for the whole store
 * (`store`), so an empty result still has the store's link type; Ethernet for an empty store.
 */
export function planSliceOutput(
  files: readonly CaptureFile[],
  store: readonly CaptureFile[] = [],
): SliceOutputPlan {
  const basis = files.length > 0 ? files : store;
  const linkTypes: number[] = [];
  let nanosecond = false;
  let snaplen = 0;
  for (const file of basis) {
    for (const type of file.linkTypes) if (!linkTypes.includes(type)) linkTypes.push(type);
    nanosecond ||= file.nanosecond;
    snaplen = Math.max(snaplen, effectiveSnaplen(file.snaplen));
  }
  if (linkTypes.length === 0) linkTypes.push(LinkType.ETHERNET);
  return {
    format: linkTypes.length === 1 ? "pcap" : "pcapng",
    linkTypes,
    nanosecond,
    snaplen: snaplen || MAX_CAPLEN,
  };
}

/** What a record must satisfy to be written to `plan`'s output. */
export function outputRules(plan: SliceOutputPlan): OutputRules {
  return plan.format === "pcap"
    ? { linkType: plan.linkTypes[0] ?? LinkType.ETHERNET, maxSec: CLASSIC_MAX_SEC }
    : { linkType: -1, maxSec: PCAPNG_MAX_SEC };
}

/**
 * Writes merged packets with the caps of a slice. Classic pcap (the usual case) is written here
 * into reused {@link OutputChunks}, little-endian, record by record as `tcpdump -w` writes them;
 * pcapng output (several link types) goes through the format package's writer.
 */
export class SliceWriter {
  /** Packets written. */
  packets = 0;
  private readonly chunks: OutputChunks | null;
  private readonly pcapng: PcapngWriter | null;
  private readonly nanosecond: boolean;
  private readonly cut: number;
  private readonly maxBytes: number;
  private readonly maxPackets: number;
  private readonly rec: PacketRecord = emptyRecord();

  private constructor(
    chunks: OutputChunks | null,
    pcapng: PcapngWriter | null,
    plan: SliceOutputPlan,
    caps: { maxBytes: number; maxPackets: number },
  ) {
    this.chunks = chunks;
    this.pcapng = pcapng;
    this.nanosecond = plan.nanosecond;
    this.cut = plan.format === "pcap" ? plan.snaplen : MAX_CAPLEN;
    this.maxBytes = caps.maxBytes;
    this.maxPackets = caps.maxPackets;
  }

  /** Opens `target` and writes the file header (and the pcapng interfaces). */
  static async open(
    target: SliceTarget,
    plan: SliceOutputPlan,
    caps: { maxBytes: number; maxPackets: number; end: boolean },
  ): Promise<SliceWriter> {
    if (plan.format === "pcapng") {
      const writer = await createPcapngWriter(target, {
        interfaces: plan.linkTypes.map((linkType) => ({ linkType, snaplen: 0 })),
        end: caps.end,
      });
      return new SliceWriter(null, writer, plan, caps);
    }
    const chunks = await OutputChunks.open(target, caps.end);
    const out = chunks.buf;
    out.writeUInt32LE(plan.nanosecond ? ClassicMagic.NanoLE : ClassicMagic.MicroLE, 0);
    out.writeUInt16LE(2, 4);
    out.writeUInt16LE(4, 6);
    out.writeUInt32LE(0, 8);
    out.writeUInt32LE(0, 12);
    out.writeUInt32LE(plan.snaplen, 16);
    out.writeUInt32LE(plan.linkTypes[0] ?? LinkType.ETHERNET, 20);
    chunks.used = CLASSIC_HEADER;
    return new SliceWriter(chunks, null, plan, caps);
  }

  /** Bytes of the output so far (headers included). */
  get bytes(): number {
    return this.chunks !== null ? this.chunks.bytes : (this.pcapng as PcapngWriter).bytesWritten;
  }

  /** True when the caller should `await drain()`. */
  get needsDrain(): boolean {
    return this.chunks !== null ? this.chunks.needsDrain : (this.pcapng as PcapngWriter).needsDrain;
  }

  /** Waits for the destination to take what is queued. */
  drain(): Promise<void> {
    return this.chunks !== null ? this.chunks.drain() : (this.pcapng as PcapngWriter).drain();
  }

  /**
   * Writes packet `i` of a batch (`meta` fields, see META_STRIDE; bytes in `buf`). Returns false
   * without writing when the packet would pass `maxPackets` or `maxBytes`.
   */
  write(buf: Buffer, meta: Float64Array, i: number): boolean {
    const o = i * META_STRIDE;
    const caplen = meta[o + 3] as number;
    const length = Math.min(caplen, this.cut);
    const chunks = this.chunks;
    const size = chunks !== null ? CLASSIC_RECORD + length : EPB_OVERHEAD + ((length + 3) & ~3);
    if (this.packets >= this.maxPackets || this.bytes + size > this.maxBytes) return false;
    this.packets += 1;
    if (chunks === null) {
      const rec = this.rec;
      rec.buf = buf;
      rec.tsSec = meta[o] as number;
      rec.tsNsec = meta[o + 1] as number;
      rec.dataOffset = meta[o + 2] as number;
      rec.caplen = caplen;
      rec.origLen = meta[o + 4] as number;
      rec.linkType = meta[o + 5] as number;
      (this.pcapng as PcapngWriter).write(rec);
      return true;
    }
    chunks.reserve(size);
    const out = chunks.buf;
    const at = chunks.used;
    const nsec = meta[o + 1] as number;
    out.writeUInt32LE(meta[o] as number, at);
    // Microsecond output truncates, as libpcap does when it reads nanoseconds at µs precision.
    out.writeUInt32LE(this.nanosecond ? nsec : Math.floor(nsec / 1000), at + 4);
    out.writeUInt32LE(length, at + 8);
    out.writeUInt32LE(meta[o + 4] as number, at + 12);
    const start = meta[o + 2] as number;
    buf.copy(out, at + CLASSIC_RECORD, start, start + length);
    chunks.used = at + size;
    return true;
  }

  /** Flushes and closes the destination. Idempotent. */
  close(): Promise<void> {
    return this.chunks !== null ? this.chunks.close() : (this.pcapng as PcapngWriter).close();
  }
}
