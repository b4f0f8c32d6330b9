/**
 * The output side of a merge: which format the inputs call for, and the writers. Classic pcap
 * is written when every input has the same link type (nanosecond when any input is), pcapng
 * with one interface per link type otherwise. Classic output has a raw path: records of a
 * classic little-endian input with the output's precision are already in output form, so runs
 * of them are copied from the input's chunk buffer in one `copy` instead of field by field
 * (see `classic-output.ts`).
 */
import type { CaptureReader } from "../format/index.js";
import { createPcapngWriter, type PcapngWriter, type WriteTarget } from "../format/index.js";
import { LinkType, MAX_CAPLEN } from "../types.js";
import { toChunkSink } from "./chunk-sink.js";
import { ClassicMergeWriter, MIN_CLASSIC_CHUNK } from "./classic-output.js";
import type { InputRules } from "./merge-input.js";

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
