/**
 * The first bytes of an index file (see codec.ts for the whole layout) and the error every
 * decoder throws: what both the whole-file decoder and the piecewise meta decoder (meta.ts)
 * start from.
 */
import { INDEX_VERSION } from "./index-data.js";

/** "PFIX" read as a little-endian uint32. */
export const MAGIC = 0x58494650;
/** Size of the prologue: magic, version, reserved, meta length, meta CRC. */
export const PROLOGUE = 16;
/** Bytes of the trailer (the CRC of the whole file). */
export const TRAILER = 4;

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
