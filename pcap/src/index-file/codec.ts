/**
 * The binary index file, version 2. Little-endian throughout:
 *
 *   prologue   magic "PFIX", version, reserved, metaLength, metaCrc           (16 bytes)
 *   meta       header; time blocks as columns; per key family its key width, key count
 *              and postings length; then per family its directory as columns: keys, counts,
 *              dense flags, list offsets and one CRC-32 per posting list        (CRC: metaCrc)
 *   postings   the five families' posting lists, in family order             (CRC: per list)
 *   trailer    CRC-32 of every byte before it
 *
 * A query needs the meta and a few posting lists, not the whole file: version 1 had one CRC
 * over everything, so every slice read and checked every byte of every index of the store
 * (about 1% of the capture bytes, 20 MB for a 2 GB ring), whatever it was looking for. Here the
 * meta (a few percent of the index) has its own CRC and each list its own, so a query reads and
 * checks exactly what it uses ({@link IndexView}); loading a whole index still checks the
 * trailer. Columns start at multiples of 8 so they are copied out as typed arrays in one go.
 *
 * Decoding checks a checksum before trusting any byte it covers and bounds-checks every read, so
 * a damaged file is reported as {@link IndexFormatError} instead of producing wrong answers.
 */
import { endianness } from "node:os";
import { crc32 } from "node:zlib";
import {
  FAMILY_NAMES,
  INDEX_VERSION,
  type IndexData,
  type IndexHeader,
  type KeyFamilies,
} from "./index-data.js";
import type { KeyFamily } from "./key-family.js";
import type { BlockTable } from "./time-blocks.js";

/** "PFIX" read as a little-endian uint32. */
const MAGIC = 0x58494650;
/** Size of the prologue: magic, version, reserved, meta length, meta CRC. */
export const PROLOGUE = 16;
/** Bytes of the trailer (the CRC of the whole file). */
const TRAILER = 4;
/** Typed-array columns can be copied out as bytes on little-endian hosts only. */
const LITTLE_ENDIAN_HOST = endianness() === "LE";

/** The bytes are not a usable index: wrong magic, other version, bad checksum, truncated. */
export class IndexFormatError extends Error {
  /** Why the file was rejected. */
  readonly reason: "magic" | "version" | "checksum" | "truncated" | "invalid";

  constructor(reason: IndexFormatError["reason"], message: string) {
    super(message);
    this.name = "IndexFormatError";
    this.reason = reason;
  }
}

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

/** The meta part of an index file, decoded and checked. */
export interface IndexMeta {
  readonly header: IndexHeader;
  readonly blocks: BlockTable;
  readonly directories: Readonly<Record<keyof KeyFamilies, FamilyDirectory>>;
  /** Length of the whole file, as the meta describes it. */
  readonly fileLength: number;
}

/** Serialises an index. */
export function encodeIndex(data: IndexData): Buffer {
  const w = new Writer(1024 + data.blocks.size * 40 + familyBytes(data.families));
  w.u32(MAGIC);
  w.u16(INDEX_VERSION);
  w.u16(0);
  w.u32(0); // meta length, written below
  w.u32(0); // meta CRC, written below
  const h = data.header;
  w.string(h.capturePath);
  w.f64(h.size);
  w.u64(h.mtimeNs);
  w.u64(h.ino);
  w.u64(h.dev);
  w.u8(h.format === "pcapng" ? 1 : 0);
  w.u32(h.linkTypes.length);
  for (const linkType of h.linkTypes) w.u32(linkType);
  for (const v of [h.packets, h.minSec, h.minNsec, h.maxSec, h.maxNsec, h.dataStart, h.indexedEnd]) w.f64(v);
  w.u8(h.indexable ? 1 : 0);
  for (const v of [h.blockPackets, h.denseDivisor, h.headCrc, h.headLength, h.tailCrc, h.tailLength])
    w.u32(v);
  const b = data.blocks;
  w.u32(b.size);
  w.column(b.starts, 8);
  w.column(b.minSec, 8);
  w.column(b.maxSec, 8);
  w.column(b.counts, 4);
  w.column(b.minNsec, 4);
  w.column(b.maxNsec, 4);
  for (const name of FAMILY_NAMES) {
    const f = data.families[name];
    w.u8(f.words);
    w.u32(f.size);
    w.u32(f.postings.length);
  }
  for (const name of FAMILY_NAMES) {
    const f = data.families[name];
    const crcs = new Uint32Array(f.size);
    for (let i = 0; i < f.size; i++) crcs[i] = listCrc(f.postings, f.offsets, i);
    w.column(f.keys, 4);
    w.column(f.counts, 4);
    w.column(f.dense, 1);
    w.column(f.offsets, 4);
    w.column(crcs, 4);
  }
  const metaLength = w.at;
  w.patchU32(8, metaLength);
  w.patchU32(12, crc32(w.view().subarray(PROLOGUE, metaLength)));
  for (const name of FAMILY_NAMES) w.bytes(data.families[name].postings);
  w.u32(crc32(w.view()));
  return w.view();
}

/** The version number of an index file, or undefined when the bytes are not one. */
export function indexVersion(bytes: Uint8Array): number | undefined {
  if (bytes.length < 8) return undefined;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  return buf.readUInt32LE(0) === MAGIC ? buf.readUInt16LE(4) : undefined;
}

/**
 * Length of the meta part from the prologue (`bytes` holds at least {@link PROLOGUE} bytes);
 * throws {@link IndexFormatError} when they are not the prologue of a current index file.
 */
export function metaLength(bytes: Uint8Array): number {
  const version = indexVersion(bytes);
  if (version === undefined) throw new IndexFormatError("magic", "not an index file");
  if (version !== INDEX_VERSION) throw new IndexFormatError("version", `index version ${version}`);
  if (bytes.length < PROLOGUE) throw new IndexFormatError("truncated", "index file truncated");
  const length = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).readUInt32LE(8);
  if (length < PROLOGUE) throw new IndexFormatError("invalid", "bad meta length");
  return length;
}

/**
 * Decodes the meta part, `bytes` holding at least the first {@link metaLength} bytes of the
 * file. Checks the meta CRC first; throws {@link IndexFormatError} for anything but a valid one.
 */
export function decodeMeta(bytes: Uint8Array): IndexMeta {
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
  const blocks: BlockTable = {
    size: n,
    starts: r.f64s(n),
    minSec: r.f64s(n),
    maxSec: r.f64s(n),
    counts: r.u32s(n),
    minNsec: r.u32s(n),
    maxNsec: r.u32s(n),
  };
  const shapes = FAMILY_NAMES.map(() => {
    const words = r.u8();
    if (words !== 1 && words !== 4) throw new IndexFormatError("invalid", `bad key width ${words}`);
    return { words, size: r.count(words * 4 + 13), postings: r.u32() };
  });
  let postingsAt = length;
  const directories = Object.fromEntries(
    FAMILY_NAMES.map((name, k) => {
      const { words, size, postings } = shapes[k] as { words: number; size: number; postings: number };
      const dir: FamilyDirectory = {
        words,
        size,
        keys: r.u32s(size * words),
        counts: r.u32s(size),
        dense: r.u8s(size),
        offsets: r.u32s(size + 1),
        crcs: r.u32s(size),
        postingsAt,
      };
      for (let i = 0; i < size; i++) {
        if ((dir.offsets[i] as number) > (dir.offsets[i + 1] as number))
          throw new IndexFormatError("invalid", "bad offsets");
      }
      if (dir.offsets[0] !== 0 || dir.offsets[size] !== postings)
        throw new IndexFormatError("invalid", "bad offsets");
      postingsAt += postings;
      return [name, dir];
    }),
  ) as unknown as Record<keyof KeyFamilies, FamilyDirectory>;
  if (r.at !== length) throw new IndexFormatError("invalid", "trailing bytes in index meta");
  return { header, blocks, directories, fileLength: postingsAt + TRAILER };
}

/** Parses a whole index file; throws {@link IndexFormatError} for anything but a valid current one. */
export function decodeIndex(bytes: Uint8Array): IndexData {
  metaLength(bytes);
  if (bytes.length < PROLOGUE + TRAILER) throw new IndexFormatError("truncated", "index file truncated");
  const body = bytes.subarray(0, bytes.length - TRAILER);
  const stored = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).readUInt32LE(body.length);
  if (crc32(body) !== stored) throw new IndexFormatError("checksum", "index checksum mismatch");
  const meta = decodeMeta(bytes);
  if (meta.fileLength !== bytes.length) throw new IndexFormatError("invalid", "index length mismatch");
  const families = Object.fromEntries(
    FAMILY_NAMES.map((name) => {
      const dir = meta.directories[name];
      const bytesOfList = dir.offsets[dir.size] as number;
      // Zero-copy: the postings stay a view of the file's bytes.
      const postings = new Uint8Array(bytes.buffer, bytes.byteOffset + dir.postingsAt, bytesOfList);
      const family: KeyFamily = {
        words: dir.words,
        size: dir.size,
        keys: dir.keys,
        counts: dir.counts,
        dense: dir.dense,
        offsets: dir.offsets,
        postings,
      };
      return [name, family];
    }),
  ) as unknown as KeyFamilies;
  return { header: meta.header, blocks: meta.blocks, families };
}

/** CRC-32 of key `i`'s list in `postings` (0 for an empty list). */
export function listCrc(postings: Uint8Array, offsets: Uint32Array, i: number): number {
  const start = offsets[i] as number;
  const end = offsets[i + 1] as number;
  return start === end ? 0 : crc32(postings.subarray(start, end));
}

function familyBytes(families: KeyFamilies): number {
  let n = 0;
  for (const name of FAMILY_NAMES) {
    const f = families[name];
    n += 9 + f.size * (f.words * 4 + 13) + 4 + 40 + f.postings.length;
  }
  return n;
}

type Column = Float64Array | Uint32Array | Uint8Array;

/** Appends little-endian values to a growing buffer. */
class Writer {
  private buf: Buffer;
  at = 0;

  constructor(capacity: number) {
    this.buf = Buffer.alloc(capacity);
  }

  u8(v: number): void {
    this.room(1);
    this.at = this.buf.writeUInt8(v, this.at);
  }
  u16(v: number): void {
    this.room(2);
    this.at = this.buf.writeUInt16LE(v, this.at);
  }
  u32(v: number): void {
    this.room(4);
    this.at = this.buf.writeUInt32LE(v >>> 0, this.at);
  }
  u64(v: bigint): void {
    this.room(8);
    this.at = this.buf.writeBigUInt64LE(v, this.at);
  }
  f64(v: number): void {
    this.room(8);
    this.at = this.buf.writeDoubleLE(v, this.at);
  }
  string(v: string): void {
    const bytes = Buffer.from(v, "utf8");
    this.u32(bytes.length);
    this.bytes(bytes);
  }
  bytes(v: Uint8Array): void {
    this.room(v.length);
    this.buf.set(v, this.at);
    this.at += v.length;
  }
  /** A column of `width`-byte values, starting at a multiple of 8 (zero padding before). */
  column(values: Column, width: 1 | 4 | 8): void {
    this.align();
    this.room(values.length * width);
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (width === 8) this.buf.writeDoubleLE(v, this.at);
      else if (width === 4) this.buf.writeUInt32LE(v >>> 0, this.at);
      else this.buf[this.at] = v;
      this.at += width;
    }
  }
  patchU32(at: number, v: number): void {
    this.buf.writeUInt32LE(v >>> 0, at);
  }
  view(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  private align(): void {
    const pad = (8 - (this.at % 8)) % 8;
    this.room(pad);
    // The buffer is zero-filled (Buffer.alloc, and growth copies into zeroed memory).
    this.at += pad;
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
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
  f64s(n: number): Float64Array {
    const start = this.column(n * 8);
    if (LITTLE_ENDIAN_HOST) return new Float64Array(this.copy(start, n * 8));
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.buf.readDoubleLE(start + i * 8);
    return out;
  }
  u32s(n: number): Uint32Array {
    const start = this.column(n * 4);
    if (LITTLE_ENDIAN_HOST) return new Uint32Array(this.copy(start, n * 4));
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.buf.readUInt32LE(start + i * 4);
    return out;
  }
  u8s(n: number): Uint8Array {
    return new Uint8Array(this.copy(this.column(n), n));
  }

  /** Skips the padding to the next multiple of 8, then takes `n` bytes. */
  private column(n: number): number {
    this.take((8 - (this.at % 8)) % 8);
    return this.take(n);
  }

  /** `n` bytes from `start` in a new ArrayBuffer (aligned for any typed array). */
  private copy(start: number, n: number): ArrayBuffer {
    const out = new ArrayBuffer(n);
    new Uint8Array(out).set(this.buf.subarray(start, start + n));
    return out;
  }

  private take(n: number): number {
    const start = this.at;
    if (start + n > this.buf.length) throw new IndexFormatError("truncated", "index file truncated");
    this.at = start + n;
    return start;
  }
}
