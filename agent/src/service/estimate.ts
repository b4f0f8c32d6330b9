/**
 * Estimate: what a slice of a window would return, from the catalogue and the indexes only.
 * Time blocks give the packets and record bytes of the window; a block that straddles a window
 * edge is counted record by record from its record headers (classic pcap: at most two blocks of
 * 256 records per file, a few hundred KiB), so an estimate without a filter over indexed files
 * is exact. With a filter the index's candidate records are counted: an upper bound, since
 * libpcap decides only when packets are read. Files without an index are estimated from their
 * size and time span.
 */
import { open } from "node:fs/promises";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  type Candidates,
  type CaptureFile,
  effectiveSnaplen,
  type FilterKey,
  type FilterPlan,
  FilterSet,
  openIndexView,
  planFilter,
} from "@pcapfleet/pcap";
import { EstimateResponseSchema } from "@pcapfleet/proto";
import {
  coverageOf,
  type FileSpan,
  fileSpans,
  type IndexMeta,
  NS,
  overlapping,
  storeRange,
} from "./ring-extent.js";

/** Bytes of a classic pcap file header, which a slice's output starts with. */
const PCAP_HEADER = 24;
/** Bytes of a classic pcap record header. */
const RECORD_HEADER = 16;
/** Largest straddling block read to count it exactly; larger ones count whole (not exact). */
const MAX_EDGE_READ = 8 * 1024 * 1024;
/** Record size assumed for files without an index when no indexed file tells a better one. */
const DEFAULT_RECORD_BYTES = 600;

/** The answer, as the generated EstimateResponse's init shape. */
export type Estimate = MessageInitShape<typeof EstimateResponseSchema>;

interface Tally {
  packets: number;
  bytes: number;
  exact: boolean;
}

/**
 * Estimates a slice of `[from, to)` (ns) matching `filter` over `files`. A filter libpcap
 * rejects throws its FilterError (`invalid_argument`, libpcap's message).
 */
export async function estimateSlice(
  files: readonly CaptureFile[],
  stateDir: string,
  from: bigint,
  to: bigint,
  filter: string,
): Promise<Estimate> {
  await validateFilter(filter, files);
  const spans = await fileSpans(files, stateDir);
  const touched = overlapping(spans, from, to);
  const plan = filter.trim() === "" ? null : planFilter(filter);
  const total: Tally = { packets: 0, bytes: 0, exact: plan === null };
  const unindexed: FileSpan[] = [];
  let indexedRecordBytes = 0;
  let indexedPackets = 0;
  for (const span of touched) {
    if (span.meta === undefined) {
      unindexed.push(span);
      continue;
    }
    const tally = await estimateIndexed(span, span.meta, stateDir, from, to, plan);
    total.packets += tally.packets;
    total.bytes += tally.bytes;
    total.exact &&= tally.exact;
    indexedRecordBytes += tally.bytes;
    indexedPackets += tally.packets;
  }
  const recordBytes = indexedPackets > 0 ? indexedRecordBytes / indexedPackets : DEFAULT_RECORD_BYTES;
  for (const span of unindexed) {
    const bytes = Math.max(0, span.file.size - PCAP_HEADER) * overlapFraction(span, from, to);
    total.packets += Math.round(bytes / recordBytes);
    total.bytes += Math.round(bytes);
    total.exact = false;
  }
  return create(EstimateResponseSchema, {
    packets: BigInt(total.packets),
    bytes: BigInt(total.packets > 0 ? total.bytes + PCAP_HEADER : 0),
    coverage: coverageOf(storeRange(spans), from, to),
    files: BigInt(touched.length),
    exact: total.exact,
  });
}

/**
 * Compiles `filter` for the link types of `files` (Ethernet for none), as a slice would: throws
 * libpcap's FilterError (`invalid_argument`) when it fits none of them.
 */
export async function validateFilter(filter: string, files: readonly CaptureFile[]): Promise<void> {
  if (filter.trim() === "") return;
  const keys: FilterKey[] = [];
  for (const file of files) {
    const snaplen = effectiveSnaplen(file.snaplen);
    for (const linkType of file.linkTypes) keys.push({ linkType, snaplen, littleEndian: file.littleEndian });
  }
  if (keys.length === 0) keys.push({ linkType: 1, snaplen: effectiveSnaplen(0), littleEndian: true });
  await new FilterSet(filter).prepare(keys);
}

/** Packets and record bytes of one indexed file in the window, narrowed by `plan`'s candidates. */
async function estimateIndexed(
  span: FileSpan,
  meta: IndexMeta,
  stateDir: string,
  from: bigint,
  to: bigint,
  plan: FilterPlan | null,
): Promise<Tally> {
  const { header, blocks } = meta;
  const classic = span.file.format === "pcap";
  const tally: Tally = { packets: 0, bytes: 0, exact: classic };
  // Byte ranges [start, end) of the blocks in the window, for counting candidates in them.
  const ranges: number[] = [];
  for (let b = 0; b < blocks.size; b++) {
    const min = BigInt(blocks.minSec[b] as number) * NS + BigInt(blocks.minNsec[b] as number);
    const max = BigInt(blocks.maxSec[b] as number) * NS + BigInt(blocks.maxNsec[b] as number);
    if (max < from || min >= to) continue;
    const start = blocks.starts[b] as number;
    const end = b + 1 < blocks.size ? (blocks.starts[b + 1] as number) : header.indexedEnd;
    ranges.push(start, end);
    const inside = min >= from && max < to;
    if (!inside && classic && end - start <= MAX_EDGE_READ) {
      const counted = await countRecords(span.file, start, end, from, to);
      tally.packets += counted.packets;
      tally.bytes += counted.bytes;
      continue;
    }
    if (!inside) tally.exact = false;
    tally.packets += blocks.counts[b] as number;
    tally.bytes += pcapRecordBytes(classic, end - start, blocks.counts[b] as number);
  }
  if (span.file.size > header.indexedEnd) {
    // A file still being written: the part past its index, by its share of the time span.
    const tail = (span.file.size - header.indexedEnd) * overlapFraction(span, from, to);
    const per =
      header.packets > 0 ? (header.indexedEnd - header.dataStart) / header.packets : DEFAULT_RECORD_BYTES;
    tally.packets += Math.round(tail / per);
    tally.bytes += Math.round(tail);
    tally.exact = false;
  }
  if (plan === null || tally.packets === 0) return tally;
  const candidates = await candidatesOf(stateDir, span.file, plan);
  if (candidates === undefined || candidates.kind === "all") return { ...tally, exact: false };
  const count = countInRanges(candidates.offsets, ranges);
  const perRecord = tally.bytes / tally.packets;
  return { packets: count, bytes: Math.round(count * perRecord), exact: false };
}

/** The index's candidates of `plan` in `file`; undefined when the index cannot be read now. */
async function candidatesOf(
  stateDir: string,
  file: CaptureFile,
  plan: FilterPlan,
): Promise<Candidates | undefined> {
  const view = await openIndexView(stateDir, file.path).catch(() => undefined);
  if (view === undefined) return undefined;
  try {
    return await view.candidates(plan).catch(() => undefined);
  } finally {
    await view.close();
  }
}

/** Offsets (ascending) inside any of `ranges` (flat [start, end) pairs, ascending). */
function countInRanges(offsets: Float64Array, ranges: readonly number[]): number {
  let count = 0;
  let r = 0;
  for (let i = 0; i < offsets.length && r < ranges.length; i++) {
    const offset = offsets[i] as number;
    while (r < ranges.length && (ranges[r + 1] as number) <= offset) r += 2;
    if (r < ranges.length && offset >= (ranges[r] as number)) count++;
  }
  return count;
}

/**
 * Output bytes of `packets` records that take `bytes` in their file: the same for classic pcap;
 * pcapng's Enhanced Packet Blocks carry 16 more bytes each (plus padding and options, ignored).
 */
function pcapRecordBytes(classic: boolean, bytes: number, packets: number): number {
  return classic ? bytes : Math.max(0, bytes - packets * RECORD_HEADER);
}

/** Share of a file's time span inside the window (1 for a file whose span is one instant). */
function overlapFraction(span: FileSpan, from: bigint, to: bigint): number {
  const lo = span.first > from ? span.first : from;
  const hi = span.last + 1n < to ? span.last + 1n : to;
  if (hi <= lo) return 0;
  const whole = span.last + 1n - span.first;
  return Number(hi - lo) / Number(whole);
}

/**
 * Counts the records of a classic pcap file in bytes `[start, end)` whose timestamp is in the
 * window, reading only that range and walking the 16-byte record headers.
 */
async function countRecords(
  file: CaptureFile,
  start: number,
  end: number,
  from: bigint,
  to: bigint,
): Promise<{ packets: number; bytes: number }> {
  const buf = Buffer.allocUnsafe(end - start);
  const handle = await open(file.path, "r");
  let got = 0;
  try {
    while (got < buf.length) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, start + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
  } finally {
    await handle.close();
  }
  const fromSec = Number(from / NS);
  const fromNsec = Number(from % NS);
  const toSec = Number(to / NS);
  const toNsec = Number(to % NS);
  const scale = file.nanosecond ? 1 : 1000;
  const le = file.littleEndian;
  let packets = 0;
  let bytes = 0;
  for (let at = 0; at + RECORD_HEADER <= got; ) {
    const sec = le ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
    const nsec = (le ? buf.readUInt32LE(at + 4) : buf.readUInt32BE(at + 4)) * scale;
    const caplen = le ? buf.readUInt32LE(at + 8) : buf.readUInt32BE(at + 8);
    const size = RECORD_HEADER + caplen;
    const afterFrom = sec > fromSec || (sec === fromSec && nsec >= fromNsec);
    const beforeTo = sec < toSec || (sec === toSec && nsec < toNsec);
    if (afterFrom && beforeTo) {
      packets++;
      bytes += size;
    }
    at += size;
  }
  return { packets, bytes };
}
