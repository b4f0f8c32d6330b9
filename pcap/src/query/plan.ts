/**
 * Planning a slice, file by file: which files can hold packets of the window and which bytes of
 * each to read (index time blocks, index candidate records, or a plain scan). Pure functions over
 * the catalogue and the indexes, so every decision is unit-tested without reading a capture.
 */
import type { CaptureIndex } from "../index-file/capture-index.js";
import type { ByteRange } from "../index-file/time-blocks.js";
import type { FilterPlan } from "../plan/filter-terms.js";
import type { CaptureFile } from "./catalogue.js";
import { addSeconds, compareInstant, type Instant } from "./time.js";

/**
 * How far (seconds) a packet may sort before one written earlier in the same file. Ring
 * writers (tcpdump -C/-G, dumpcap ring buffers, the agent) append packets in capture order;
 * what reorders them is a few capture threads or interfaces handing over buffers, which is
 * bounded by milliseconds. So a file whose first packet is 10 s past the window end holds no
 * packet of the window, and a scan may stop at the first packet 10 s past it. Only files
 * without an index rely on this: an index knows each block's real [min, max].
 */
export const REORDER_SLACK_S = 10;

/** Candidate records closer than this are read in one go: reading the gap beats another I/O. */
export const COALESCE_GAP = 128 * 1024;

/** Read size per open file: few system calls, little memory per file (a few files are open at once). */
export const SCAN_CHUNK = 512 * 1024;

/** The window of a slice, `[from, to)`. */
export interface SliceWindow {
  readonly from: Instant;
  readonly to: Instant;
}

/** How a range is read. */
export const RangeKind = {
  /** Every record of the range is tested (index time blocks: exact bounds, no early stop). */
  Blocks: 0,
  /** Only the records at the plan's candidate offsets are tested. */
  Candidates: 1,
  /** Every record is tested, and the file ends at the first packet past the reorder slack. */
  Scan: 2,
} as const;

/** One of {@link RangeKind}. */
export type RangeKind = (typeof RangeKind)[keyof typeof RangeKind];

/** Bytes `[start, end)` of a file to read; `start` -1 is the first record, `end` Infinity the end of the file. */
export interface ReadRange {
  readonly start: number;
  readonly end: number;
  readonly kind: RangeKind;
}

/** What to read of one file. */
export interface FileReadPlan {
  /** Ranges in file order, not overlapping; empty when the file cannot contribute. */
  readonly ranges: readonly ReadRange[];
  /** Record offsets (ascending) the Candidates ranges must test; null when there are none. */
  readonly candidates: Float64Array | null;
  /** Estimated bytes to read (for progress and logs). */
  readonly bytes: number;
  /** True when an index shaped the plan. */
  readonly indexed: boolean;
}

/** The empty plan: nothing of the file is read. */
export const NOTHING: FileReadPlan = Object.freeze({
  ranges: [],
  candidates: null,
  bytes: 0,
  indexed: false,
});

/** First instant a scan may stop at: the window end plus {@link REORDER_SLACK_S}. */
export function stopInstant(window: SliceWindow): Instant {
  return addSeconds(window.to, REORDER_SLACK_S);
}

/**
 * Whether an unindexed file may hold packets of `window`: its first packet is before the
 * window end plus the slack. A file without a complete packet yet (just rotated in) may.
 */
export function mayOverlap(file: CaptureFile, window: SliceWindow): boolean {
  return file.first === undefined || compareInstant(file.first, stopInstant(window)) < 0;
}

/** Reading a file without an index: everything, from the first record, with the early stop. */
export function planScan(file: CaptureFile, window: SliceWindow): FileReadPlan {
  if (!mayOverlap(file, window)) return NOTHING;
  return {
    ranges: [{ start: -1, end: Number.POSITIVE_INFINITY, kind: RangeKind.Scan }],
    candidates: null,
    bytes: file.size,
    indexed: false,
  };
}

/**
 * Reading a file with its index: the time blocks overlapping the window; within them only the
 * candidate records of `filterPlan` when the index narrows it (coalesced into runs); and the
 * unindexed tail of a file that grew since it was indexed (`size` is its size now).
 */
export function planIndexed(
  index: CaptureIndex,
  window: SliceWindow,
  filterPlan: FilterPlan,
  size: number,
): FileReadPlan {
  const { from, to } = window;
  const blocks = index.blocksInWindow(from.sec, from.nsec, to.sec, to.nsec);
  const ranges: ReadRange[] = [];
  let candidates: Float64Array | null = null;
  let bytes = 0;
  if (blocks.length > 0) {
    const narrowed = index.candidates(filterPlan);
    if (narrowed.kind === "offsets") {
      const runs = candidateRuns(blocks, narrowed.offsets, COALESCE_GAP);
      candidates = runs.offsets;
      for (const run of runs.ranges) {
        ranges.push({ start: run.start, end: run.end, kind: RangeKind.Candidates });
        bytes += run.end - run.start;
      }
    } else {
      for (const block of blocks) {
        ranges.push({ start: block.start, end: block.end, kind: RangeKind.Blocks });
        bytes += block.end - block.start;
      }
    }
  }
  const h = index.header;
  const stop = stopInstant(window);
  const tailMayOverlap = h.packets === 0 || compareInstant({ sec: h.maxSec, nsec: h.maxNsec }, stop) < 0;
  if (size > h.indexedEnd && tailMayOverlap) {
    ranges.push({ start: h.indexedEnd, end: Number.POSITIVE_INFINITY, kind: RangeKind.Scan });
    bytes += size - h.indexedEnd;
  }
  return { ranges, candidates, bytes, indexed: true };
}

/**
 * The candidate offsets inside `blocks`, and runs of them to read: consecutive candidates less
 * than `gap` bytes apart share one run `[first, last + 1)` (a reader returns the record that
 * starts at `last` whole).
 */
export function candidateRuns(
  blocks: readonly ByteRange[],
  offsets: Float64Array,
  gap: number,
): { ranges: ByteRange[]; offsets: Float64Array } {
  const kept = new Float64Array(offsets.length);
  let n = 0;
  let b = 0;
  for (let i = 0; i < offsets.length && b < blocks.length; i++) {
    const offset = offsets[i] as number;
    while (b < blocks.length && (blocks[b] as ByteRange).end <= offset) b++;
    const block = blocks[b];
    if (block !== undefined && offset >= block.start) kept[n++] = offset;
  }
  const ranges: ByteRange[] = [];
  let start = -1;
  let last = -1;
  for (let i = 0; i < n; i++) {
    const offset = kept[i] as number;
    if (start >= 0 && offset - last > gap) {
      ranges.push({ start, end: last + 1 });
      start = -1;
    }
    if (start < 0) start = offset;
    last = offset;
  }
  if (start >= 0) ranges.push({ start, end: last + 1 });
  return { ranges, offsets: kept.slice(0, n) };
}

/** The files of a slice, in merge order, that may contribute to `window` before any index is read. */
export function consideredFiles(files: readonly CaptureFile[], window: SliceWindow): CaptureFile[] {
  return files.filter((file) => mayOverlap(file, window));
}
