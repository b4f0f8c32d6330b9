/**
 * The meta part of an index file (header, time blocks, key directories; layout in codec.ts),
 * decoded as far as a query needs it. Opening checks the meta CRC, decodes the header and walks
 * the layout (every column's place and bounds) without touching a column; the time blocks and
 * each family's directory are decoded on first use. A whole-ring query with a host filter thus
 * reads the header and the small IPv4 directory of each file, not its 500-odd time blocks nor
 * its thousands of ports: in a fresh CLI process, where every loop still runs in the
 * interpreter, decoding and checking all of it cost about as much as the rest of consulting the
 * index (0.2-1 ms per file of a 2 GB ring, measured for issue #3).
 *
 * Columns are views of the bytes when the host is little-endian and they are aligned (the
 * file's columns start at multiples of 8, so a buffer that starts one is enough), copies
 * otherwise. A damaged file is still {@link IndexFormatError}, never a wrong answer: the CRC
 * covers every byte before anything is decoded, and a directory's offsets are checked when it
 * is first decoded.
 */
import { endianness } from "node:os";
import { crc32 } from "node:zlib";
import { FAMILY_NAMES, type IndexHeader, type KeyFamilies } from "./index-data.js";
import { IndexFormatError, metaLength, PROLOGUE, TRAILER } from "./prologue.js";
import type { BlockTable } from "./time-blocks.js";

/** Typed-array columns can be used as they are on little-endian hosts only. */
const LITTLE_ENDIAN_HOST = endianness() === "LE";

/** A key family without its posting lists: what a query reads first. */
export interface FamilyDirectory {
  readonly words: number;
  readonly size: number;
  readonly keys: Uint32Array;
  readonly counts: Uint32Array;
  readonly dense: Uint8Array;
  /** `size + 1` positions of each key's list in the family's postings. */
  readonly offsets: Uint32Array;
  /** CRC-32 of each key's list (0 for an empty one). */
  readonly crcs: Uint32Array;
  /** File offset of the family's postings. */
  readonly postingsAt: number;
}

/** Where a family's directory columns start in the meta bytes (after their alignment). */
interface FamilyLayout {
  readonly words: number;
  readonly size: number;
  readonly postingsAt: number;
  readonly postings: number;
  readonly keys: number;
  readonly counts: number;
  readonly dense: number;
  readonly offsets: number;
  readonly crcs: number;
}

/** The meta part of an index file, checked, decoded piecewise; see the module comment. */
export class IndexMeta {
  /** The capture and the extent the index describes. */
  readonly header: IndexHeader;
  /** Length of the whole file, as the meta describes it. */
  readonly fileLength: number;
  private readonly buf: Buffer;
  private readonly blockCount: number;
  /** Starts of the six block columns, in storage order. */
  private readonly blockColumns: readonly number[];
  private readonly layouts: Readonly<Record<keyof KeyFamilies, FamilyLayout>>;
  private table: BlockTable | undefined;
  private readonly decoded = new Map<keyof KeyFamilies, FamilyDirectory>();

  private constructor(
    buf: Buffer,
    header: IndexHeader,
    blockCount: number,
    blockColumns: readonly number[],
    layouts: Record<keyof KeyFamilies, FamilyLayout>,
    fileLength: number,
  ) {
    this.buf = buf;
    this.header = header;
    this.blockCount = blockCount;
    this.blockColumns = blockColumns;
    this.layouts = layouts;
    this.fileLength = fileLength;
  }

  /**
   * Checks and walks the meta part, `bytes` holding at least its {@link metaLength} bytes. Throws
   * {@link IndexFormatError} for anything but a valid one (directories' offsets excepted: see
   * {@link IndexMeta.directory}).
   */
  static decode(bytes: Uint8Array): IndexMeta {
    const length = metaLength(bytes);
    if (bytes.length < length) throw new IndexFormatError("truncated", "index file truncated");
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, length);
    if (crc32(buf.subarray(PROLOGUE)) !== buf.readUInt32LE(12)) {
      throw new IndexFormatError("checksum", "index checksum mismatch");
    }
    const r = new Reader(buf, PROLOGUE);
    // Property initialisers run in source order: this reads the fields in the order encodeIndex wrote them.
    const header: IndexHeader = {
      capturePath: r.string(),
      size: r.f64(),
      mtimeNs: r.u64(),
      ino: r.u64(),
      dev: r.u64(),
      format: r.u8() === 1 ? "pcapng" : "pcap",
      linkTypes: Array.from({ length: r.count(4) }, () => r.u32()),
      packets: r.f64(),
      minSec: r.f64(),
      minNsec: r.f64(),
      maxSec: r.f64(),
      maxNsec: r.f64(),
      dataStart: r.f64(),
      indexedEnd: r.f64(),
      indexable: r.u8() === 1,
      blockPackets: r.u32(),
      denseDivisor: r.u32(),
      headCrc: r.u32(),
      headLength: r.u32(),
      tailCrc: r.u32(),
      tailLength: r.u32(),
    };
    const n = r.count(36);
    const blockColumns = [8, 8, 8, 4, 4, 4].map((width) => r.column(n * width));
    const shapes = FAMILY_NAMES.map(() => {
      const words = r.u8();
      if (words !== 1 && words !== 4) throw new IndexFormatError("invalid", `bad key width ${words}`);
      return { words, size: r.count(words * 4 + 13), postings: r.u32() };
    });
    let postingsAt = length;
    const layouts = {} as Record<keyof KeyFamilies, FamilyLayout>;
    for (const [k, name] of FAMILY_NAMES.entries()) {
      const { words, size, postings } = shapes[k] as { words: number; size: number; postings: number };
      layouts[name] = {
        words,
        size,
        postingsAt,
        postings,
        keys: r.column(size * words * 4),
        counts: r.column(size * 4),
        dense: r.column(size),
        offsets: r.column((size + 1) * 4),
        crcs: r.column(size * 4),
      };
      postingsAt += postings;
    }
    if (r.at !== length) throw new IndexFormatError("invalid", "trailing bytes in index meta");
    return new IndexMeta(buf, header, n, blockColumns, layouts, postingsAt + TRAILER);
  }

  /** The time blocks (decoded on first use). */
  get blocks(): BlockTable {
    if (this.table === undefined) {
      const n = this.blockCount;
      const [starts, minSec, maxSec, counts, minNsec, maxNsec] = this.blockColumns as [
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      this.table = {
        size: n,
        starts: f64s(this.buf, starts, n),
        minSec: f64s(this.buf, minSec, n),
        maxSec: f64s(this.buf, maxSec, n),
        counts: u32s(this.buf, counts, n),
        minNsec: u32s(this.buf, minNsec, n),
        maxNsec: u32s(this.buf, maxNsec, n),
      };
    }
    return this.table;
  }

  /** uint32 words per key of family `name` (without decoding its directory). */
  words(name: keyof KeyFamilies): number {
    return this.layouts[name].words;
  }

  /**
   * The directory of family `name`, decoded and checked on first use. Throws
   * {@link IndexFormatError} when its list offsets are not consistent.
   */
  directory(name: keyof KeyFamilies): FamilyDirectory {
    const known = this.decoded.get(name);
    if (known !== undefined) return known;
    const at = this.layouts[name];
    const size = at.size;
    const dir: FamilyDirectory = {
      words: at.words,
      size,
      keys: u32s(this.buf, at.keys, size * at.words),
      counts: u32s(this.buf, at.counts, size),
      dense: u8s(this.buf, at.dense, size),
      offsets: u32s(this.buf, at.offsets, size + 1),
      crcs: u32s(this.buf, at.crcs, size),
      postingsAt: at.postingsAt,
    };
    const offsets = dir.offsets;
    for (let i = 0; i < size; i++) {
      if ((offsets[i] as number) > (offsets[i + 1] as number))
        throw new IndexFormatError("invalid", "bad offsets");
    }
    if (offsets[0] !== 0 || offsets[size] !== at.postings)
      throw new IndexFormatError("invalid", "bad offsets");
    this.decoded.set(name, dir);
    return dir;
  }
}

/**
 * Checks and walks the meta part of an index file; see {@link IndexMeta.decode}. `bytes` holds
 * at least the first {@link metaLength} bytes of the file.
 */
export function decodeMeta(bytes: Uint8Array): IndexMeta {
  return IndexMeta.decode(bytes);
}

/** `n` float64 values at `start` of `buf`: a view when possible, else a copy. */
function f64s(buf: Buffer, start: number, n: number): Float64Array {
  if (LITTLE_ENDIAN_HOST && (buf.byteOffset + start) % 8 === 0) {
    return new Float64Array(buf.buffer, buf.byteOffset + start, n);
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readDoubleLE(start + i * 8);
  return out;
}

/** `n` uint32 values at `start` of `buf`: a view when possible, else a copy. */
function u32s(buf: Buffer, start: number, n: number): Uint32Array {
  if (LITTLE_ENDIAN_HOST && (buf.byteOffset + start) % 4 === 0) {
    return new Uint32Array(buf.buffer, buf.byteOffset + start, n);
  }
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readUInt32LE(start + i * 4);
  return out;
}

/** `n` bytes at `start` of `buf`, as a view. */
function u8s(buf: Buffer, start: number, n: number): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset + start, n);
}

/** Reads little-endian values, throwing {@link IndexFormatError} past the end. */
class Reader {
  private readonly buf: Buffer;

  constructor(
    buf: Buffer,
    public at: number,
  ) {
    this.buf = buf;
  }

  u8(): number {
    return this.buf.readUInt8(this.take(1));
  }
  u32(): number {
    return this.buf.readUInt32LE(this.take(4));
  }
  u64(): bigint {
    return this.buf.readBigUInt64LE(this.take(8));
  }
  f64(): number {
    return this.buf.readDoubleLE(this.take(8));
  }
  string(): string {
    const n = this.u32();
    return this.buf.toString("utf8", this.take(n), this.at);
  }
  /** A count of items of `itemBytes` each, rejected early when the rest of the bytes cannot hold them. */
  count(itemBytes: number): number {
    const n = this.u32();
    if (n * itemBytes > this.buf.length - this.at)
      throw new IndexFormatError("truncated", "count beyond the end");
    return n;
  }
  /** Skips the padding to the next multiple of 8, then takes a column of `n` bytes; returns its start. */
  column(n: number): number {
    this.take((8 - (this.at % 8)) % 8);
    return this.take(n);
  }

  private take(n: number): number {
    const start = this.at;
    if (start + n > this.buf.length) throw new IndexFormatError("truncated", "index file truncated");
    this.at = start + n;
    return start;
  }
}
