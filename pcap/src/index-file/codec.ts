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
 * trailer. Columns start at multiples of 8 so they are used as typed arrays without copying
 * (meta.ts decodes the meta part, as far as a query needs it).
 *
 * Decoding checks a checksum before trusting any byte it covers and bounds-checks every read, so
 * a damaged file is reported as {@link IndexFormatError} instead of producing wrong answers.
 */
import { crc32 } from "node:zlib";
import { FAMILY_NAMES, INDEX_VERSION, type IndexData, type KeyFamilies } from "./index-data.js";
import type { KeyFamily } from "./key-family.js";
import { decodeMeta } from "./meta.js";
import { IndexFormatError, MAGIC, metaLength, PROLOGUE, TRAILER } from "./prologue.js";

export { decodeMeta, type FamilyDirectory, IndexMeta } from "./meta.js";
export { IndexFormatError, indexVersion, metaLength, PROLOGUE } from "./prologue.js";

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
      const dir = meta.directory(name);
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
