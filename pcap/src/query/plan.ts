/**
 * Planning a slice, file by file: which files can hold packets of the window and which bytes of
 * each to read (index time blocks, index candidate records, or a plain scan). Pure functions over
 * the catalogue and the indexes, so every decision is unit-tested without reading a capture.
 */
import { ALL_CANDIDATES, type Candidates } from "../index-file/candidates.js";
import type { CaptureIndex } from "../index-file/capture-index.js";
import type { IndexHeader } from "../index-file/index-data.js";
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

/**
 * Candidate records closer than this are read in one go: reading the gap beats another I/O. This
 * is the figure for reads through the libuv thread pool (tens of microseconds per round trip).
 */
export const COALESCE_GAP = 128 * 1024;

/**
 * The same for synchronous reads (`syncReads`): a `pread` from the page cache costs a microsecond
 * or two, the time it takes to copy ~8-16 KB, so only near neighbours share a read. Measured on
 * the benchmark ring's selective query (46 000 candidates): 4, 8, 16 and 32 KB within noise of
 * each other (23 000 reads of 5 KB at 8 KB, 13 000 of 18 KB at 16 KB); 0 and 128 KB clearly worse.
 */
export const SYNC_COALESCE_GAP = 16 * 1024;

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
  /**
   * Only the records at the plan's candidate offsets inside the range are tested; candidates
   * less than the plan's `runGap` bytes apart are read in one go (a run).
   */
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
  /**
   * Candidates closer than this many bytes share a read (see {@link COALESCE_GAP}, the default);
   * set by plans with candidates.
   */
  readonly runGap?: number;
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
 * candidate records of `filterPlan` when the index narrows it (coalesced into runs of records
 * less than `gap` bytes apart); and the unindexed tail of a file that grew since it was indexed
 * (`size` is its size now).
 */
export function planIndexed(
  index: CaptureIndex,
  window: SliceWindow,
  filterPlan: FilterPlan,
  size: number,
  gap: number = COALESCE_GAP,
): FileReadPlan {
  const { from, to } = window;
  const blocks = index.blocksInWindow(from.sec, from.nsec, to.sec, to.nsec);
  // Candidates are only worth computing when some block can hold packets of the window.
  const narrowed = blocks.length > 0 ? index.candidates(filterPlan) : ALL_CANDIDATES;
  return planFromIndex(index.header, blocks, narrowed, window, size, gap);
}

/**
 * {@link planIndexed} from its parts: the index header, the blocks that overlap the window and
 * the candidates of the filter (for an index read piece by piece, see `IndexView`). Candidate
 * ranges are the blocks' ranges, not one range per run of candidates: a selective filter has
 * tens of thousands of runs per file, and the reader forms them as it goes (`RecordScan`,
 * `CandidateReads`), so planning allocates nothing per run.
 */
export function planFromIndex(
  header: IndexHeader,
  blocks: readonly ByteRange[],
  narrowed: Candidates,
  window: SliceWindow,
  size: number,
  gap: number = COALESCE_GAP,
): FileReadPlan {
  const ranges: ReadRange[] = [];
  let candidates: Float64Array | null = null;
  let bytes = 0;
  if (blocks.length > 0) {
    if (narrowed.kind === "offsets") {
      candidates = inBlocks(blocks, narrowed.offsets);
      for (const block of blocks)
        ranges.push({ start: block.start, end: block.end, kind: RangeKind.Candidates });
      bytes += runBytes(candidates, gap);
    } else {
      for (const block of blocks) {
        ranges.push({ start: block.start, end: block.end, kind: RangeKind.Blocks });
        bytes += block.end - block.start;
      }
    }
  }
  const h = header;
  const stop = stopInstant(window);
  const tailMayOverlap = h.packets === 0 || compareInstant({ sec: h.maxSec, nsec: h.maxNsec }, stop) < 0;
  if (size > h.indexedEnd && tailMayOverlap) {
    ranges.push({ start: h.indexedEnd, end: Number.POSITIVE_INFINITY, kind: RangeKind.Scan });
    bytes += size - h.indexedEnd;
  }
  return { ranges, candidates, bytes, indexed: true, runGap: gap };
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
  const kept = inBlocks(blocks, offsets);
  const ranges: ByteRange[] = [];
  forEachRun(kept, gap, (first, last) => {
    ranges.push({ start: first, end: last + 1 });
  });
  return { ranges, offsets: kept === offsets ? kept.slice() : kept };
}

/** The offsets (ascending) that fall inside one of `blocks` (in file order, not overlapping). */
export function inBlocks(blocks: readonly ByteRange[], offsets: Float64Array): Float64Array {
  const only = blocks.length === 1 ? (blocks[0] as ByteRange) : undefined;
  const n = offsets.length;
  // The usual whole-file window: one range holding every candidate.
  if (
    n === 0 ||
    (only !== undefined && (offsets[0] as number) >= only.start && (offsets[n - 1] as number) < only.end)
  )
    return offsets;
  const kept = new Float64Array(n);
  let k = 0;
  let b = 0;
  for (let i = 0; i < n && b < blocks.length; i++) {
    const offset = offsets[i] as number;
    while (b < blocks.length && (blocks[b] as ByteRange).end <= offset) b++;
    const block = blocks[b];
    if (block !== undefined && offset >= block.start) kept[k++] = offset;
  }
  return kept.slice(0, k);
}

/**
 * Bytes the runs of `offsets` span: `last + 1 - first` per run of candidates less than `gap`
 * apart. One pass with no call per candidate: it runs once per file of a slice, over tens of
 * thousands of candidates, mostly before the process has optimised any code.
 */
export function runBytes(offsets: Float64Array, gap: number): number {
  const n = offsets.length;
  if (n === 0) return 0;
  let first = offsets[0] as number;
  let last = first;
  let bytes = 0;
  for (let i = 1; i < n; i++) {
    const offset = offsets[i] as number;
    if (offset - last > gap) {
      bytes += last + 1 - first;
      first = offset;
    }
    last = offset;
  }
  return bytes + last + 1 - first;
}

/** Calls `run(first, last)` for each run of `offsets` (ascending) less than `gap` bytes apart. */
function forEachRun(offsets: Float64Array, gap: number, run: (first: number, last: number) => void): void {
  let first = -1;
  let last = -1;
  for (let i = 0; i < offsets.length; i++) {
    const offset = offsets[i] as number;
    if (first >= 0 && offset - last > gap) {
      run(first, last);
      first = -1;
    }
    if (first < 0) first = offset;
    last = offset;
  }
  if (first >= 0) run(first, last);
}

/** The files of a slice, in merge order, that may contribute to `window` before any index is read. */
export function consideredFiles(files: readonly CaptureFile[], window: SliceWindow): CaptureFile[] {
  return files.filter((file) => mayOverlap(file, window));
}
