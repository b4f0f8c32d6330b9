/**
 * The query side of a per-file index, as the slice executor uses it: which byte ranges can hold
 * packets of a time window, and which records can match a filter plan. Both answers are
 * supersets; libpcap's compiled program makes the exact decision on each candidate record.
 */
import type { FilterPlan } from "../plan/filter-terms.js";
import { ALL_CANDIDATES, type Candidates, evaluatePlan } from "./candidates.js";
import { encodeIndex } from "./codec.js";
import { FAMILY_NAMES, type IndexData, type IndexHeader, type KeyFamilies } from "./index-data.js";
import { familyCounts } from "./key-family.js";
import { type BlockTable, type ByteRange, selectBlocksIn } from "./time-blocks.js";

/** Share of the packets above which a candidate list is not worth it: the window is scanned. */
export const SCAN_DIVISOR = 4;

/** Key counts of one family. */
export interface FamilyStats {
  /** Distinct keys seen. */
  readonly keys: number;
  /** Of those, keys too frequent to store (lookups answer "all"). */
  readonly dense: number;
}

/** Size and content figures of an index, for logs, metrics and benchmarks. */
export interface IndexStats {
  /** Packets indexed. */
  readonly packets: number;
  /** Capture bytes covered: from the first record to the indexed end. */
  readonly bytesIndexed: number;
  /** Size of the index file (its encoding). */
  readonly indexBytes: number;
  /** indexBytes / bytesIndexed (0 for an empty capture). */
  readonly ratio: number;
  /** Time blocks. */
  readonly blocks: number;
  /** Whether key lookups can narrow at all (see {@link IndexHeader.indexable}). */
  readonly indexable: boolean;
  /** Keys per family. */
  readonly keys: Readonly<Record<keyof KeyFamilies, FamilyStats>>;
}

/** An index of one capture file, built by `buildIndex` or read by `loadIndex`. */
export class CaptureIndex {
  /** The capture and the extent this index describes. */
  readonly header: IndexHeader;
  /** The sparse time index. */
  readonly blocks: BlockTable;
  /** Posting lists per key kind. */
  readonly families: KeyFamilies;
  private byteLength: number | undefined;

  /** Wraps index data; `byteLength` is the encoded size when already known (loaded from disk). */
  constructor(data: IndexData, byteLength?: number) {
    this.header = data.header;
    this.blocks = data.blocks;
    this.families = data.families;
    this.byteLength = byteLength;
  }

  /** Packets indexed. */
  get packets(): number {
    return this.header.packets;
  }

  /** Offset up to which the capture is indexed; records from here on must be scanned (or indexed). */
  get indexedEnd(): number {
    return this.header.indexedEnd;
  }

  /**
   * Byte ranges `[start, end)` of the capture that hold every indexed packet whose timestamp is
   * in `[from, to)`: the blocks whose [min, max] overlaps the window, adjacent ones coalesced,
   * in file order. Packets after {@link indexedEnd} are not covered.
   */
  blocksInWindow(fromSec: number, fromNsec: number, toSec: number, toNsec: number): ByteRange[] {
    return selectBlocksIn(this.blocks, this.header, this.header.indexedEnd, fromSec, fromNsec, toSec, toNsec);
  }

  /**
   * Records that may match `plan` (from `planFilter`): "all", or record offsets (ascending,
   * unique) that include every record libpcap could match for it. Offsets are of records
   * before {@link indexedEnd}.
   */
  candidates(plan: FilterPlan): Candidates {
    if (!this.header.indexable) return ALL_CANDIDATES;
    return evaluatePlan(plan, this.families, Math.floor(this.header.packets / SCAN_DIVISOR));
  }

  /** Size and content figures. */
  stats(): IndexStats {
    const h = this.header;
    const bytesIndexed = Math.max(0, h.indexedEnd - h.dataStart);
    const indexBytes = this.encodedLength();
    const keys = Object.fromEntries(FAMILY_NAMES.map((name) => [name, familyCounts(this.families[name])]));
    return {
      packets: h.packets,
      bytesIndexed,
      indexBytes,
      ratio: bytesIndexed === 0 ? 0 : indexBytes / bytesIndexed,
      blocks: this.blocks.size,
      indexable: h.indexable,
      keys: keys as Record<keyof KeyFamilies, FamilyStats>,
    };
  }

  /** The index as plain data (for saving, or for extending it). */
  toData(): IndexData {
    return { header: this.header, blocks: this.blocks, families: this.families };
  }

  /** The index file's bytes. */
  encode(): Buffer {
    const bytes = encodeIndex(this.toData());
    this.byteLength = bytes.length;
    return bytes;
  }

  private encodedLength(): number {
    if (this.byteLength === undefined) this.byteLength = encodeIndex(this.toData()).length;
    return this.byteLength;
  }
}
