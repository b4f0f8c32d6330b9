/**
 * An index file opened for one query, read piece by piece: the meta part (header, time blocks,
 * key directories; a few percent of the file, checked by its own CRC) when it is opened, decoded
 * only as far as the query uses it (meta.ts), then only the posting lists the filter needs, each
 * checked by its own CRC. A query over a store therefore reads about as many index bytes as its
 * answer holds, not 1% of every capture (see codec.ts). Nothing is cached: the view is closed
 * when the file's read plan is made.
 */
import { crc32 } from "node:zlib";
import type { FilterPlan } from "../plan/filter-terms.js";
import {
  ALL_CANDIDATES,
  type Candidates,
  decodedKeys,
  evaluatePlan,
  planTerms,
  termKeys,
} from "./candidates.js";
import { SCAN_DIVISOR } from "./capture-index.js";
import { FAMILY_NAMES, type IndexHeader, type KeyFamilies } from "./index-data.js";
import type { RandomAccess } from "./index-fs.js";
import { emptyFamily, type KeyFamily } from "./key-family.js";
import { type FamilyDirectory, IndexMeta } from "./meta.js";
import { IndexFormatError, metaLength } from "./prologue.js";
import { type BlockTable, type ByteRange, selectBlocksIn } from "./time-blocks.js";

/**
 * First read of an index file: the meta part of a small capture's index, or the start of a
 * larger one's (a 128 MiB capture's is 50-80 KiB: time blocks and a few thousand keys), whose
 * rest is then read exactly.
 */
export const FIRST_READ = 16 * 1024;
/** Meta parts up to this size are read in one more read (their length field is not checked yet). */
const TRUSTED_META = 1024 * 1024;

/** An open index file; see the module comment. Call {@link IndexView.close} when done. */
export class IndexView {
  /** The capture and the extent the index describes. */
  readonly header: IndexHeader;
  private readonly meta: IndexMeta;
  private readonly handle: RandomAccess;
  /** The index file, for errors. */
  readonly path: string;

  private constructor(meta: IndexMeta, handle: RandomAccess, path: string) {
    this.header = meta.header;
    this.meta = meta;
    this.handle = handle;
    this.path = path;
  }

  /**
   * Opens the index file at `path` (an open handle of it: the view owns it from here) and reads
   * its meta part. Throws {@link IndexFormatError} when it is not a valid current index file.
   */
  static async open(handle: RandomAccess, path: string): Promise<IndexView> {
    // Buffers of their own (never a slice of the shared pool): the columns are used in place,
    // as typed arrays that need the file's 8-byte alignment.
    let bytes = Buffer.allocUnsafeSlow(FIRST_READ);
    let got = await readFully(handle, bytes, 0, 0);
    const length = metaLength(bytes.subarray(0, got));
    // The length is not checked yet: up to TRUSTED_META it is allocated at once, beyond it the
    // buffer grows only as bytes actually arrive, so a damaged length field cannot make it
    // larger than twice the file.
    while (got < length && got === bytes.length) {
      const grown = Buffer.allocUnsafeSlow(Math.min(length, Math.max(TRUSTED_META, bytes.length * 2)));
      bytes.copy(grown, 0, 0, got);
      bytes = grown;
      got += await readFully(handle, bytes, got, got);
    }
    if (got < length) throw new IndexFormatError("truncated", "index file truncated");
    return new IndexView(IndexMeta.decode(bytes.subarray(0, length)), handle, path);
  }

  /** The time blocks (views of the meta bytes, made when first asked for). */
  get blocks(): BlockTable {
    return this.meta.blocks;
  }

  /** Byte ranges of the capture holding every indexed packet in `[from, to)` (as `CaptureIndex`). */
  blocksInWindow(fromSec: number, fromNsec: number, toSec: number, toNsec: number): ByteRange[] {
    return selectBlocksIn(this.blocks, this.header, this.header.indexedEnd, fromSec, fromNsec, toSec, toNsec);
  }

  /**
   * The candidates of `plan`, as `CaptureIndex.candidates` answers them, reading only the
   * posting lists the answer is made of. Throws {@link IndexFormatError} when one of them is
   * damaged.
   */
  async candidates(plan: FilterPlan): Promise<Candidates> {
    if (!this.header.indexable) return ALL_CANDIDATES;
    const limit = Math.floor(this.header.packets / SCAN_DIVISOR);
    // Per family the plan has a term of, the key ranges whose lists a lookup will decode.
    const wanted = new Map<keyof KeyFamilies, [number, number][]>();
    for (const term of planTerms(plan)) {
      const { family, low, high } = termKeys(term);
      const list = wanted.get(family) ?? [];
      wanted.set(family, list);
      const range = decodedKeys(this.meta.directory(family), low, high, limit);
      if (range !== null && range[0] < range[1]) list.push(range);
    }
    // A family the plan has no term of is never looked up: an empty stand-in will do.
    const families = Object.fromEntries(
      await Promise.all(
        FAMILY_NAMES.map(async (name) => {
          const ranges = wanted.get(name);
          const family =
            ranges === undefined ? emptyFamily(this.meta.words(name)) : await this.family(name, ranges);
          return [name, family] as const;
        }),
      ),
    ) as unknown as KeyFamilies;
    return evaluatePlan(plan, families, limit);
  }

  /** Closes the file; calling it again does nothing. */
  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }

  /**
   * Family `name` with the lists of the keys in `ranges` read and checked. Every other key reads
   * as dense, so a lookup that reached it would answer "all" (a superset), never a wrong list;
   * lookups of the same plan only reach the keys read (see `decodedKeys`). Work is proportional
   * to the keys read, not to the family (a file has thousands of ports).
   */
  private async family(name: keyof KeyFamilies, ranges: [number, number][]): Promise<KeyFamily> {
    const dir = this.meta.directory(name);
    const runs = mergeRanges(ranges);
    const dense = new Uint8Array(dir.size).fill(1);
    const offsets = new Uint32Array(dir.size + 1);
    // Where each run's lists go in `postings`, and their total length.
    const bases: number[] = [];
    let total = 0;
    for (const [from, to] of runs) {
      bases.push(total);
      dense.set(dir.dense.subarray(from, to), from);
      const first = dir.offsets[from] as number;
      for (let i = from; i <= to; i++) offsets[i] = total + (dir.offsets[i] as number) - first;
      total += (dir.offsets[to] as number) - first;
    }
    const postings = Buffer.allocUnsafe(total);
    // One read per run of consecutive keys read.
    for (const [k, [from, to]] of runs.entries()) {
      await this.readLists(dir, from, to, postings, bases[k] as number);
    }
    return { words: dir.words, size: dir.size, keys: dir.keys, counts: dir.counts, dense, offsets, postings };
  }

  /** Reads the lists of keys `[from, to)` into `target` at `at`, checking each one's CRC. */
  private async readLists(
    dir: FamilyDirectory,
    from: number,
    to: number,
    target: Buffer,
    at: number,
  ): Promise<void> {
    const start = dir.offsets[from] as number;
    const length = (dir.offsets[to] as number) - start;
    const got = await readFully(this.handle, target.subarray(at, at + length), 0, dir.postingsAt + start);
    if (got < length) throw new IndexFormatError("truncated", `index file ${this.path} truncated`);
    for (let i = from; i < to; i++) {
      const a = at + (dir.offsets[i] as number) - start;
      const b = at + (dir.offsets[i + 1] as number) - start;
      const crc = a === b ? 0 : crc32(target.subarray(a, b));
      if (crc !== dir.crcs[i])
        throw new IndexFormatError("checksum", `index file ${this.path}: list checksum mismatch`);
    }
  }
}

/** Reads into `target` from `offset` until it is full or the file ends; returns the bytes read. */
async function readFully(
  handle: RandomAccess,
  target: Uint8Array,
  offset: number,
  position: number,
): Promise<number> {
  let got = 0;
  while (offset + got < target.length) {
    const bytesRead = await handle.read(target, offset + got, target.length - offset - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/** `ranges` (`[from, to)`, any order, maybe overlapping) as sorted runs that neither overlap nor touch. */
function mergeRanges(ranges: readonly [number, number][]): [number, number][] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const runs: [number, number][] = [];
  for (const [from, to] of sorted) {
    const last = runs[runs.length - 1];
    if (last !== undefined && from <= last[1]) last[1] = Math.max(last[1], to);
    else runs.push([from, to]);
  }
  return runs;
}
