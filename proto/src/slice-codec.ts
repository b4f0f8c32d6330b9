/**
 * A hand-written codec for `SliceResponse`, the message that carries every byte of a slice, and
 * `DownloadPcapResponse` (every byte of a result downloaded over gRPC), which lays its chunks out
 * the same way ({@link chunkStreamCodec}). protobuf-es encodes a `DataChunk` into chunks it concatenates twice (sub-message, then
 * message) and grpc-js then copies the result behind its 5-byte frame header: three fresh
 * 128 KiB buffers per message, measured at ~30% of the server's CPU in garbage collection.
 *
 * Encoding: grpc-js (1.14, `BaseServerInterceptingCall.serializeMessage`) always allocates the
 * frame itself (`Buffer.allocUnsafe(byteLength + 5)`) and fills it with
 * `serialized.copy(frame, 5)`; it offers no way to hand it a buffer that already has room for
 * the header. So the chunk case returns a {@link FramedChunk}: it has the `byteLength` and
 * `copy` grpc-js uses and writes the protobuf tags and the bytes straight into grpc-js's frame.
 * One allocation (grpc-js's) and one copy of the data per message, as for pre-built Buffers.
 * If a grpc-js upgrade used the result any other way, every Slice call would fail with
 * INTERNAL at once (the real-gRPC tests do), never send wrong bytes.
 * The `done` case (once per call) and anything else goes through protobuf-es.
 *
 * A sender that reuses the memory behind a chunk's `data` (the agent's slice buffers) asks to be
 * told when the bytes were copied out with {@link whenSent}: grpc-js serialises a message when
 * it is written, or later when it queues it, and gives no other signal.
 *
 * Decoding: protobuf-es already returns `bytes` fields as views of the input (no copy), but
 * walks the schema per message; the chunk layout this encoder (and protobuf-es) writes is read
 * directly, anything else falls back to `fromBinary`.
 */
import { create, fromBinary, type MessageInitShape, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { type SliceResponse, SliceResponseSchema } from "./gen/pcapfleet/v1/capture_pb.js";
import type { DownloadPcapResponseSchema } from "./gen/pcapfleet/v1/jobs_pb.js";

/** SliceResponse.chunk: field 1, length-delimited. */
export const TAG_CHUNK = 0x0a;
/** DataChunk.sequence: field 1, varint. */
export const TAG_SEQUENCE = 0x08;
/** DataChunk.offset: field 2, varint. */
export const TAG_OFFSET = 0x10;
/** DataChunk.data: field 3, length-delimited. */
export const TAG_DATA = 0x1a;
const UINT64_MAX = (1n << 64n) - 1n;

/** Callbacks of {@link whenSent}, by the `data` they wait for. */
const sentCallbacks = new WeakMap<Uint8Array, () => void>();

/**
 * Calls `callback` once the bytes of `data` were copied into a gRPC frame (or encoded by
 * protobuf-es): from then on the memory behind `data` may be reused. A message never serialised
 * (the call ended first) never calls it. One callback per `data` object.
 */
export function whenSent(data: Uint8Array, callback: () => void): void {
  sentCallbacks.set(data, callback);
}

function sent(data: Uint8Array): void {
  const callback = sentCallbacks.get(data);
  if (callback === undefined) return;
  sentCallbacks.delete(data);
  callback();
}

/**
 * An encoded `SliceResponse{chunk: DataChunk}` not yet written anywhere: grpc-js copies it
 * into its frame (see the module comment), {@link FramedChunk.toBuffer} gives it as bytes.
 */
export class FramedChunk {
  /** Size of the encoded message in bytes. */
  readonly byteLength: number;
  private readonly sequence: bigint;
  private readonly offset: bigint;
  private readonly data: Uint8Array;
  private readonly innerLength: number;

  /** The chunk `{sequence, offset, data}`; both numbers must be uint64. */
  constructor(sequence: bigint, offset: bigint, data: Uint8Array) {
    this.sequence = sequence;
    this.offset = offset;
    this.data = data;
    let inner = 0;
    if (sequence !== 0n) inner += 1 + varintSize(sequence);
    if (offset !== 0n) inner += 1 + varintSize(offset);
    if (data.length > 0) inner += 1 + varintSize(BigInt(data.length)) + data.length;
    this.innerLength = inner;
    this.byteLength = 1 + varintSize(BigInt(inner)) + inner;
  }

  /** Same as {@link FramedChunk.byteLength}: grpc-js's client-side framing reads `length`. */
  get length(): number {
    return this.byteLength;
  }

  /** Writes the encoded message into `target` at `targetStart`, as `Buffer#copy` does. */
  copy(target: Uint8Array, targetStart = 0): number {
    if (targetStart + this.byteLength > target.length) {
      throw new RangeError(`FramedChunk: ${this.byteLength} bytes do not fit at ${targetStart}`);
    }
    let at = targetStart;
    target[at++] = TAG_CHUNK;
    at = writeVarint(target, at, this.innerLength);
    if (this.sequence !== 0n) {
      target[at++] = TAG_SEQUENCE;
      at = writeVarint(target, at, this.sequence);
    }
    if (this.offset !== 0n) {
      target[at++] = TAG_OFFSET;
      at = writeVarint(target, at, this.offset);
    }
    if (this.data.length > 0) {
      target[at++] = TAG_DATA;
      at = writeVarint(target, at, this.data.length);
      target.set(this.data, at);
    }
    sent(this.data);
    return this.byteLength;
  }

  /** The encoded message as one new Buffer. */
  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.byteLength);
    this.copy(out, 0);
    return out;
  }
}

/**
 * A response message whose first field is a `DataChunk` in a oneof named `kind`, as
 * `SliceResponse` and `DownloadPcapResponse` are: both stream bytes in the same layout.
 */
type ChunkStreamSchema = typeof SliceResponseSchema | typeof DownloadPcapResponseSchema;

/** The encoder and decoder of a chunk-stream response; see the module comment. */
export interface ChunkStreamCodec<D extends ChunkStreamSchema> {
  /**
   * A chunk becomes a {@link FramedChunk} typed as the Buffer grpc-js's `Serialize` must return
   * (it only calls `copy` on it); every other message is encoded by protobuf-es.
   */
  serialize(value: MessageInitShape<D>): Buffer;
  /**
   * A chunk laid out as protobuf-es (and {@link FramedChunk}) write it is read directly, with
   * `data` a view of `bytes` (no copy); anything else goes through protobuf-es `fromBinary`.
   * Throws on malformed bytes, as `fromBinary` does.
   */
  deserialize(bytes: Uint8Array): MessageShape<D>;
}

/** The {@link ChunkStreamCodec} of `schema`. */
export function chunkStreamCodec<D extends ChunkStreamSchema>(schema: D): ChunkStreamCodec<D> {
  return {
    serialize(value) {
      const chunk = fastChunk(value as MessageInitShape<typeof SliceResponseSchema>);
      // FramedChunk offers exactly what grpc-js's server framing uses of the result (byteLength,
      // copy); see the module comment for why it is not a Buffer.
      if (chunk !== undefined) return chunk as unknown as Buffer;
      const bytes = toBinary(schema, create(schema, value as MessageInitShape<typeof schema>));
      const kind = (value as MessageInitShape<typeof SliceResponseSchema>).kind;
      if (kind?.case === "chunk" && kind.value?.data instanceof Uint8Array) sent(kind.value.data);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    deserialize(bytes) {
      return (readChunk(bytes, schema.typeName) ?? fromBinary(schema, bytes)) as MessageShape<D>;
    },
  };
}

const sliceCodec = chunkStreamCodec(SliceResponseSchema);
/** Encodes a `SliceResponse` (message or init object); see {@link ChunkStreamCodec.serialize}. */
export const serializeSliceResponse = sliceCodec.serialize;
/** Decodes a `SliceResponse`; see {@link ChunkStreamCodec.deserialize}. */
export const deserializeSliceResponse = sliceCodec.deserialize;

/** The chunk of `value` ready to frame, or undefined when protobuf-es must encode it. */
export function fastChunk(value: MessageInitShape<typeof SliceResponseSchema>): FramedChunk | undefined {
  const kind = value.kind;
  if (kind?.case !== "chunk" || kind.value === undefined) return undefined;
  const { sequence = 0n, offset = 0n, data = new Uint8Array(0) } = kind.value;
  // Unknown fields, or numbers protobuf-es would reject or convert: leave those to it.
  if ("$unknown" in kind.value && kind.value.$unknown !== undefined && kind.value.$unknown.length > 0) {
    return undefined;
  }
  if ("$unknown" in value && value.$unknown !== undefined && value.$unknown.length > 0) return undefined;
  if (typeof sequence !== "bigint" || typeof offset !== "bigint" || !(data instanceof Uint8Array)) {
    return undefined;
  }
  if (sequence < 0n || sequence > UINT64_MAX || offset < 0n || offset > UINT64_MAX) return undefined;
  return new FramedChunk(sequence, offset, data);
}

/**
 * Reads the canonical chunk layout as a message of type `typeName`; undefined for anything else
 * (left to protobuf-es).
 */
function readChunk(bytes: Uint8Array, typeName: string): SliceResponse | undefined {
  if (bytes.length < 2 || bytes[0] !== TAG_CHUNK) return undefined;
  const reader = { at: 1 };
  const inner = readVarint(bytes, reader);
  if (inner === undefined || reader.at + Number(inner) !== bytes.length) return undefined;
  let sequence = 0n;
  let offset = 0n;
  let data: Uint8Array = new Uint8Array(0);
  if (bytes[reader.at] === TAG_SEQUENCE) {
    reader.at++;
    const value = readVarint(bytes, reader);
    if (value === undefined) return undefined;
    sequence = value;
  }
  if (bytes[reader.at] === TAG_OFFSET) {
    reader.at++;
    const value = readVarint(bytes, reader);
    if (value === undefined) return undefined;
    offset = value;
  }
  if (bytes[reader.at] === TAG_DATA) {
    reader.at++;
    const length = readVarint(bytes, reader);
    if (length === undefined || reader.at + Number(length) !== bytes.length) return undefined;
    data = bytes.subarray(reader.at, bytes.length);
    reader.at = bytes.length;
  }
  if (reader.at !== bytes.length) return undefined;
  // The shape protobuf-es gives a proto3 message: a plain object carrying its type name. The
  // chunk-stream responses differ only in that name and in their other oneof cases.
  return {
    $typeName: typeName as "pcapfleet.v1.SliceResponse",
    kind: { case: "chunk", value: { $typeName: "pcapfleet.v1.DataChunk", sequence, offset, data } },
  };
}

/** Bytes of the varint of `value` (a uint64). */
function varintSize(value: bigint): number {
  let size = 1;
  for (let rest = value >> 7n; rest > 0n; rest >>= 7n) size++;
  return size;
}

/** Writes the varint of `value` at `at`; returns the position after it. */
function writeVarint(target: Uint8Array, at: number, value: bigint | number): number {
  if (typeof value === "number" && value < 0x80000000) {
    // Lengths: 32-bit arithmetic, the common case.
    let rest = value;
    while (rest >= 0x80) {
      target[at++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    target[at++] = rest;
    return at;
  }
  let rest = BigInt(value);
  while (rest >= 0x80n) {
    target[at++] = Number(rest & 0x7fn) | 0x80;
    rest >>= 7n;
  }
  target[at++] = Number(rest);
  return at;
}

/**
 * Reads a uint64 varint at `reader.at`, before `end`, and advances the reader; undefined when
 * truncated or too long.
 */
export function readVarint(
  bytes: Uint8Array,
  reader: { at: number },
  end = bytes.length,
): bigint | undefined {
  let value = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (reader.at >= end) return undefined;
    const byte = bytes[reader.at++];
    if (byte === undefined) return undefined;
    value |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return value <= UINT64_MAX ? value : undefined;
    shift += 7n;
  }
  return undefined;
}
