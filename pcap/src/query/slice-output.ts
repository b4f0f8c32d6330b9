/**
 * The output of a slice: classic pcap when the files have one link type (nanosecond when any
 * file is), pcapng with one interface per link type otherwise; and the packet writer that
 * applies the byte and packet caps. Records are written with the source's timestamp, lengths
 * and bytes: the same records `tcpdump -w` would write after reading them.
 */
import type { Writable } from "node:stream";
import type { BufferedWriter } from "../format/chunked-output.js";
import { CLASSIC_MAX_SEC, createPcapWriter, PcapWriter } from "../format/pcap-writer.js";
import { createPcapngWriter, PCAPNG_MAX_SEC } from "../format/pcapng-writer.js";
import type { ByteSink } from "../format/sink.js";
import { emptyRecord, LinkType, MAX_CAPLEN, type PacketRecord } from "../types.js";
import { META_STRIDE } from "./batch-source.js";
import type { CaptureFile } from "./catalogue.js";
import { effectiveSnaplen } from "./filter-set.js";
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
 * Writes merged packets with the caps of a slice, through the format layer's writers: classic
 * pcap (the usual case), little-endian, record by record as `tcpdump -w` writes them, or pcapng.
 */
export class SliceWriter {
  /** Packets written. */
  packets = 0;
  private readonly writer: BufferedWriter;
  /** The writer when it is classic: packets then go in from the batch's numbers directly. */
  private readonly classic: PcapWriter | null;
  private readonly maxBytes: number;
  private readonly maxPackets: number;
  private readonly rec: PacketRecord = emptyRecord();

  private constructor(writer: BufferedWriter, caps: { maxBytes: number; maxPackets: number }) {
    this.writer = writer;
    this.classic = writer instanceof PcapWriter ? writer : null;
    this.maxBytes = caps.maxBytes;
    this.maxPackets = caps.maxPackets;
  }

  /** Opens `target` and writes the file header (and the pcapng interfaces). */
  static async open(
    target: SliceTarget,
    plan: SliceOutputPlan,
    caps: { maxBytes: number; maxPackets: number; end: boolean; concurrentWrites?: boolean },
  ): Promise<SliceWriter> {
    const concurrentWrites = caps.concurrentWrites ?? false;
    const writer: BufferedWriter =
      plan.format === "pcap"
        ? await createPcapWriter(target, {
            linkType: plan.linkTypes[0] ?? LinkType.ETHERNET,
            nanosecond: plan.nanosecond,
            snaplen: plan.snaplen,
            end: caps.end,
            concurrentWrites,
          })
        : await createPcapngWriter(target, {
            interfaces: plan.linkTypes.map((linkType) => ({ linkType, snaplen: 0 })),
            end: caps.end,
            concurrentWrites,
          });
    return new SliceWriter(writer, caps);
  }

  /** Bytes of the output so far (headers included). */
  get bytes(): number {
    return this.writer.bytesWritten;
  }

  /** True when the caller should `await drain()`. */
  get needsDrain(): boolean {
    return this.writer.needsDrain;
  }

  /** Waits for the destination to take what is queued. */
  drain(): Promise<void> {
    return this.writer.drain();
  }

  /**
   * Writes packet `i` of a batch (`meta` fields, see META_STRIDE; bytes in `buf`). Returns false
   * without writing when the packet would pass `maxPackets` or `maxBytes`.
   */
  write(buf: Buffer, meta: Float64Array, i: number): boolean {
    const o = i * META_STRIDE;
    const caplen = meta[o + 3] as number;
    const writer = this.writer;
    if (this.packets >= this.maxPackets) return false;
    // Without a byte cap (the usual case) the record's size is not even computed.
    if (
      this.maxBytes < Number.POSITIVE_INFINITY &&
      writer.bytesWritten + writer.recordBytes(caplen) > this.maxBytes
    ) {
      return false;
    }
    this.packets += 1;
    const classic = this.classic;
    if (classic !== null) {
      // The usual case, straight from the batch's numbers: filling a record first cost the
      // slice 3% more instructions (callgrind, `tcp port 443` over 4 ring files).
      const dataOffset = meta[o + 2] as number;
      const origLen = meta[o + 4] as number;
      const sec = meta[o] as number;
      classic.writePacket(
        buf,
        dataOffset,
        caplen,
        origLen,
        sec,
        meta[o + 1] as number,
        meta[o + 5] as number,
      );
      return true;
    }
    const rec = this.rec;
    rec.buf = buf;
    rec.tsSec = meta[o] as number;
    rec.tsNsec = meta[o + 1] as number;
    rec.dataOffset = meta[o + 2] as number;
    rec.caplen = caplen;
    rec.origLen = meta[o + 4] as number;
    rec.linkType = meta[o + 5] as number;
    writer.write(rec);
    return true;
  }

  /** Flushes and closes the destination. Idempotent. */
  close(): Promise<void> {
    return this.writer.close();
  }
}
