/**
 * The binary index file: magic "PFIX", a version, the header, the time blocks, the key
 * families, and a CRC-32 of everything before it. Little-endian throughout. Decoding checks
 * the checksum before anything else, then bounds-checks every read, so a damaged file is
 * reported as {@link IndexFormatError} instead of producing wrong answers.
 */
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
/** Size of the fixed prologue: magic, version, reserved. */
const PROLOGUE = 8;

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

/** Serialises an index. */
export function encodeIndex(data: IndexData): Buffer {
  const w = new Writer(1024 + data.blocks.size * 36 + familyBytes(data.families));
  w.u32(MAGIC);
  w.u16(INDEX_VERSION);
  w.u16(0);
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
  for (let i = 0; i < b.size; i++) {
    w.f64(b.starts[i] as number);
    w.u32(b.counts[i] as number);
    w.f64(b.minSec[i] as number);
    w.u32(b.minNsec[i] as number);
    w.f64(b.maxSec[i] as number);
    w.u32(b.maxNsec[i] as number);
  }
  for (const name of FAMILY_NAMES) {
    const f = data.families[name];
    w.u8(f.words);
    w.u32(f.size);
    for (let i = 0; i < f.size * f.words; i++) w.u32(f.keys[i] as number);
    for (let i = 0; i < f.size; i++) w.u32(f.counts[i] as number);
    w.bytes(f.dense);
    for (let i = 0; i <= f.size; i++) w.u32(f.offsets[i] as number);
    w.bytes(f.postings);
  }
  w.u32(crc32(w.view()));
  return w.view();
}

/** The version number of an index file, or undefined when the bytes are not one. */
export function indexVersion(bytes: Uint8Array): number | undefined {
  if (bytes.length < PROLOGUE) return undefined;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  return buf.readUInt32LE(0) === MAGIC ? buf.readUInt16LE(4) : undefined;
}

/** Parses an index file; throws {@link IndexFormatError} for anything but a valid current one. */
export function decodeIndex(bytes: Uint8Array): IndexData {
  const version = indexVersion(bytes);
  if (version === undefined) throw new IndexFormatError("magic", "not an index file");
  if (version !== INDEX_VERSION) throw new IndexFormatError("version", `index version ${version}`);
  if (bytes.length < PROLOGUE + 4) throw new IndexFormatError("truncated", "index file truncated");
  const body = bytes.subarray(0, bytes.length - 4);
  const stored = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).readUInt32LE(body.length);
  if (crc32(body) !== stored) throw new IndexFormatError("checksum", "index checksum mismatch");
  const r = new Reader(body, PROLOGUE);
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
  const blocks = readBlocks(r);
  const families = Object.fromEntries(
    FAMILY_NAMES.map((name) => [name, readFamily(r)]),
  ) as unknown as KeyFamilies;
  if (r.at !== body.length) throw new IndexFormatError("invalid", "trailing bytes in index file");
  return { header, blocks, families };
}

function readBlocks(r: Reader): BlockTable {
  const n = r.count(36);
  const t = {
    size: n,
    starts: new Float64Array(n),
    counts: new Uint32Array(n),
    minSec: new Float64Array(n),
    minNsec: new Uint32Array(n),
    maxSec: new Float64Array(n),
    maxNsec: new Uint32Array(n),
  };
  for (let i = 0; i < n; i++) {
    t.starts[i] = r.f64();
    t.counts[i] = r.u32();
    t.minSec[i] = r.f64();
    t.minNsec[i] = r.u32();
    t.maxSec[i] = r.f64();
    t.maxNsec[i] = r.u32();
  }
  return t;
}

function readFamily(r: Reader): KeyFamily {
  const words = r.u8();
  if (words !== 1 && words !== 4) throw new IndexFormatError("invalid", `bad key width ${words}`);
  const size = r.count(words * 4 + 9);
  const keys = new Uint32Array(size * words);
  for (let i = 0; i < keys.length; i++) keys[i] = r.u32();
  const counts = new Uint32Array(size);
  for (let i = 0; i < size; i++) counts[i] = r.u32();
  const dense = r.bytes(size);
  const offsets = new Uint32Array(size + 1);
  for (let i = 0; i <= size; i++) offsets[i] = r.u32();
  for (let i = 0; i < size; i++) {
    if ((offsets[i] as number) > (offsets[i + 1] as number))
      throw new IndexFormatError("invalid", "bad offsets");
  }
  // Zero-copy: the postings stay a view of the file's bytes.
  const postings = r.bytes(offsets[size] as number);
  return { words, size, keys, counts, dense, offsets, postings };
}

function familyBytes(families: KeyFamilies): number {
  let n = 0;
  for (const name of FAMILY_NAMES) {
    const f = families[name];
    n += 5 + f.size * (f.words * 4 + 9) + 4 + f.postings.length;
  }
  return n;
}

/** Appends little-endian values to a growing buffer. */
class Writer {
  private buf: Buffer;
  private at = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
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
  view(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
}

/** Reads little-endian values, throwing {@link IndexFormatError} past the end. */
class Reader {
  private readonly buf: Buffer;

  constructor(
    bytes: Uint8Array,
    public at: number,
  ) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
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
  bytes(n: number): Uint8Array {
    const start = this.take(n);
    // A plain view, not a Buffer: loaded and built indexes then hold the same types.
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + start, n);
  }
  /** A count of items of `itemBytes` each, rejected early when the rest of the file cannot hold them. */
  count(itemBytes: number): number {
    const n = this.u32();
    if (n * itemBytes > this.buf.length - this.at)
      throw new IndexFormatError("truncated", "count beyond the end");
    return n;
  }

  private take(n: number): number {
    const start = this.at;
    if (start + n > this.buf.length) throw new IndexFormatError("truncated", "index file truncated");
    this.at = start + n;
    return start;
  }
}
