/**
 * The sparse time index: every N packets a block with the offset of its first record, its
 * packet count and the smallest and largest timestamp in it. Captures are only roughly time
 * ordered (several capture threads, clock steps, merged interfaces), so a block is selected by
 * its own [min, max], never by assuming the next block starts later.
 */
import { compareTime } from "../types.js";

/** A byte range `[start, end)` of the capture file. */
export interface ByteRange {
  /** Offset of the first record of the range. */
  readonly start: number;
  /** Offset just past the range (the next block's first record, or the indexed end). */
  readonly end: number;
}

/** The finished time index: one entry per block, in file order. */
export interface BlockTable {
  /** Number of blocks. */
  readonly size: number;
  /** File offset of each block's first record. */
  readonly starts: Float64Array;
  /** Packets in each block (the configured block size, except maybe the last). */
  readonly counts: Uint32Array;
  /** Earliest timestamp in each block: seconds and nanoseconds. */
  readonly minSec: Float64Array;
  readonly minNsec: Uint32Array;
  /** Latest timestamp in each block. */
  readonly maxSec: Float64Array;
  readonly maxNsec: Uint32Array;
}

/** Collects blocks during a scan; the arrays double as needed (amortised, not per packet). */
export class BlockBuilder {
  private size = 0;
  private fill: number;
  private starts = new Float64Array(64);
  private counts = new Uint32Array(64);
  private minSec = new Float64Array(64);
  private minNsec = new Uint32Array(64);
  private maxSec = new Float64Array(64);
  private maxNsec = new Uint32Array(64);

  /** A builder that starts a new block every `blockPackets` packets. */
  constructor(private readonly blockPackets: number) {
    this.fill = blockPackets;
  }

  /** Continues a previous index's blocks: a partial last block keeps filling up. */
  seed(table: BlockTable): void {
    for (let i = 0; i < table.size; i++) {
      this.open(table.starts[i] as number, table.minSec[i] as number, table.minNsec[i] as number);
      this.maxSec[i] = table.maxSec[i] as number;
      this.maxNsec[i] = table.maxNsec[i] as number;
      this.counts[i] = table.counts[i] as number;
    }
    this.fill = this.size === 0 ? this.blockPackets : (this.counts[this.size - 1] as number);
  }

  /** Accounts one packet at `offset` with timestamp `sec`.`nsec`. */
  add(offset: number, sec: number, nsec: number): void {
    if (this.fill >= this.blockPackets) {
      this.open(offset, sec, nsec);
      this.fill = 0;
    }
    const b = this.size - 1;
    this.fill++;
    this.counts[b] = this.fill;
    if (compareTime(sec, nsec, this.minSec[b] as number, this.minNsec[b] as number) < 0) {
      this.minSec[b] = sec;
      this.minNsec[b] = nsec;
    }
    if (compareTime(sec, nsec, this.maxSec[b] as number, this.maxNsec[b] as number) > 0) {
      this.maxSec[b] = sec;
      this.maxNsec[b] = nsec;
    }
  }

  /** The table, trimmed to the blocks actually used. */
  finish(): BlockTable {
    const n = this.size;
    return {
      size: n,
      starts: this.starts.slice(0, n),
      counts: this.counts.slice(0, n),
      minSec: this.minSec.slice(0, n),
      minNsec: this.minNsec.slice(0, n),
      maxSec: this.maxSec.slice(0, n),
      maxNsec: this.maxNsec.slice(0, n),
    };
  }

  private open(offset: number, sec: number, nsec: number): void {
    if (this.size === this.starts.length) this.grow();
    const b = this.size++;
    this.starts[b] = offset;
    this.counts[b] = 0;
    this.minSec[b] = sec;
    this.minNsec[b] = nsec;
    this.maxSec[b] = sec;
    this.maxNsec[b] = nsec;
  }

  private grow(): void {
    const n = this.starts.length * 2;
    const f64 = (old: Float64Array): Float64Array<ArrayBuffer> => {
      const next = new Float64Array(n);
      next.set(old);
      return next;
    };
    const u32 = (old: Uint32Array): Uint32Array<ArrayBuffer> => {
      const next = new Uint32Array(n);
      next.set(old);
      return next;
    };
    this.starts = f64(this.starts);
    this.counts = u32(this.counts);
    this.minSec = f64(this.minSec);
    this.minNsec = u32(this.minNsec);
    this.maxSec = f64(this.maxSec);
    this.maxNsec = u32(this.maxNsec);
  }
}

/**
 * Byte ranges holding every block whose [min, max] overlaps the window `[from, to)`: a block
 * is kept when max >= from and min < to. Adjacent kept blocks are coalesced into one range;
 * the last block ends at `indexedEnd`. Ranges come out in file order and never overlap.
 */
export function selectBlocks(
  table: BlockTable,
  indexedEnd: number,
  fromSec: number,
  fromNsec: number,
  toSec: number,
  toNsec: number,
): ByteRange[] {
  const ranges: ByteRange[] = [];
  let openStart = -1;
  for (let b = 0; b < table.size; b++) {
    const keep =
      compareTime(table.maxSec[b] as number, table.maxNsec[b] as number, fromSec, fromNsec) >= 0 &&
      compareTime(table.minSec[b] as number, table.minNsec[b] as number, toSec, toNsec) < 0;
    if (keep && openStart < 0) openStart = table.starts[b] as number;
    else if (!keep && openStart >= 0) {
      ranges.push({ start: openStart, end: table.starts[b] as number });
      openStart = -1;
    }
  }
  if (openStart >= 0) ranges.push({ start: openStart, end: indexedEnd });
  return ranges;
}

/**
 * {@link selectBlocks} for a table whose blocks span `span` (the index header's earliest and
 * latest timestamps): a window that covers the whole span keeps every block, one range from the
 * first record to `indexedEnd`, without going through the blocks (the common whole-ring query).
 */
export function selectBlocksIn(
  table: BlockTable,
  span: {
    readonly minSec: number;
    readonly minNsec: number;
    readonly maxSec: number;
    readonly maxNsec: number;
  },
  indexedEnd: number,
  fromSec: number,
  fromNsec: number,
  toSec: number,
  toNsec: number,
): ByteRange[] {
  if (
    table.size > 0 &&
    compareTime(span.minSec, span.minNsec, fromSec, fromNsec) >= 0 &&
    compareTime(span.maxSec, span.maxNsec, toSec, toNsec) < 0
  ) {
    return [{ start: table.starts[0] as number, end: indexedEnd }];
  }
  return selectBlocks(table, indexedEnd, fromSec, fromNsec, toSec, toNsec);
}

/** Earliest and latest timestamp over all blocks ([0, 0] and [0, 0] for an empty table). */
export function timeSpan(table: BlockTable): {
  minSec: number;
  minNsec: number;
  maxSec: number;
  maxNsec: number;
} {
  const span = { minSec: 0, minNsec: 0, maxSec: 0, maxNsec: 0 };
  for (let b = 0; b < table.size; b++) {
    const minSec = table.minSec[b] as number;
    const minNsec = table.minNsec[b] as number;
    const maxSec = table.maxSec[b] as number;
    const maxNsec = table.maxNsec[b] as number;
    if (b === 0 || compareTime(minSec, minNsec, span.minSec, span.minNsec) < 0) {
      span.minSec = minSec;
      span.minNsec = minNsec;
    }
    if (b === 0 || compareTime(maxSec, maxNsec, span.maxSec, span.maxNsec) > 0) {
      span.maxSec = maxSec;
      span.maxNsec = maxNsec;
    }
  }
  return span;
}
