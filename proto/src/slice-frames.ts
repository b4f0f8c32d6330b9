/**
 * Reads the gRPC messages of a `Slice` response as the bytes arrive from HTTP/2, in pieces of
 * any size, without putting a message back together: the data of a chunk message goes on as
 * views of the pieces it came in (ADR 0020). A message that is not a chunk with data (the
 * `done` summary, or any layout the fast path does not know) is gathered whole and decoded by
 * {@link deserializeSliceResponse}.
 */
import type { SliceResponse } from "./gen/pcapfleet/v1/capture_pb.js";
import {
  deserializeSliceResponse,
  readVarint,
  TAG_CHUNK,
  TAG_DATA,
  TAG_OFFSET,
  TAG_SEQUENCE,
} from "./slice-codec.js";

/** Where {@link SliceFrameReader} sends what it reads. */
export interface SliceFrameSink {
  /**
   * Bytes of chunk data, in order; `offset` is the place of their first byte in the slice, as
   * the agent numbers it. `bytes` is a view of a piece HTTP/2 gave (never reused by it) or a
   * small copy, so it may be kept.
   */
  data(bytes: Buffer, offset: bigint): void;
  /** Any other message, decoded. */
  message(message: SliceResponse): void;
}

/** A response that breaks the gRPC framing or the protobuf encoding. */
export class SliceFrameError extends Error {}

/** gRPC message header: compressed flag and a big-endian uint32 length. */
const FRAME_HEADER = 5;
/** The longest chunk prefix: tag + varint of the inner length, then three tag + varint fields. */
const CHUNK_PREFIX = 4 + 4 * 10;

/** The start of a chunk message: the offset of its data and where the data begins. */
interface ChunkPrefix {
  readonly offset: bigint;
  /** Bytes before the data. */
  readonly length: number;
  readonly dataLength: number;
}

/** See the module comment. Feed pieces with {@link push}; call {@link end} after the last. */
export class SliceFrameReader {
  private readonly sink: SliceFrameSink;
  private readonly maxMessageBytes: number;
  /** Bytes of a frame header or chunk prefix split across pieces. */
  private readonly head = Buffer.alloc(FRAME_HEADER + CHUNK_PREFIX);
  private headLength = 0;
  /** Length of the current message (valid once its frame header is read), -1 between messages. */
  private messageLength = -1;
  /** Chunk data still to come, and the slice offset of its next byte. */
  private dataLeft = 0;
  private dataOffset = 0n;
  /** Pieces of a message read whole, and how many bytes they still lack. */
  private whole: Buffer[] = [];
  private wholeLeft = 0;

  /** `maxMessageBytes` bounds a message read whole (chunk data streams through at any size). */
  constructor(sink: SliceFrameSink, maxMessageBytes = 4 * 1024 * 1024) {
    this.sink = sink;
    this.maxMessageBytes = maxMessageBytes;
  }

  /** Reads `piece`; throws {@link SliceFrameError} on bytes that are not a Slice response. */
  push(piece: Buffer): void {
    let at = 0;
    while (at < piece.length) {
      if (this.dataLeft > 0) {
        const take = Math.min(this.dataLeft, piece.length - at);
        this.sink.data(piece.subarray(at, at + take), this.dataOffset);
        this.dataOffset += BigInt(take);
        this.dataLeft -= take;
        at += take;
      } else if (this.wholeLeft > 0) {
        const take = Math.min(this.wholeLeft, piece.length - at);
        this.whole.push(piece.subarray(at, at + take));
        this.wholeLeft -= take;
        at += take;
        if (this.wholeLeft === 0) {
          const bytes = Buffer.concat(this.whole);
          this.whole = [];
          this.sink.message(decode(bytes));
        }
      } else {
        at = this.startMessage(piece, at);
      }
    }
  }

  /** Throws when the response stopped inside a message. */
  end(): void {
    if (this.messageLength >= 0 || this.headLength > 0 || this.dataLeft > 0 || this.wholeLeft > 0) {
      throw new SliceFrameError("the response ended inside a gRPC message");
    }
  }

  /**
   * Reads a frame header and the start of its message from `piece` at `at` (gathering them in
   * `head` when they are split across pieces); returns where reading goes on.
   */
  private startMessage(piece: Buffer, at: number): number {
    if (this.headLength === 0) {
      // The common case: the header and the chunk prefix lie in this piece; read them in place.
      const started = this.begin(piece, at, piece.length - at);
      if (started !== undefined) return started;
    }
    if (this.messageLength < 0) {
      const take = Math.min(FRAME_HEADER - this.headLength, piece.length - at);
      piece.copy(this.head, this.headLength, at, at + take);
      this.headLength += take;
      at += take;
      if (this.headLength < FRAME_HEADER) return at;
      this.messageLength = frameLength(this.head, 0);
    }
    const want = FRAME_HEADER + Math.min(this.messageLength, CHUNK_PREFIX);
    const take = Math.min(want - this.headLength, piece.length - at);
    piece.copy(this.head, this.headLength, at, at + take);
    this.headLength += take;
    at += take;
    if (this.headLength < want) return at;
    // Header and prefix gathered: read them from `head`; data bytes in it are copied out.
    const gathered = Buffer.from(this.head.subarray(0, this.headLength));
    this.headLength = 0;
    this.messageLength = -1;
    const done = this.begin(gathered, 0, gathered.length);
    if (done !== gathered.length) throw new SliceFrameError("gRPC frame reader lost its place");
    return at;
  }

  /**
   * Reads a message starting at `at` from the `available` bytes of `bytes`, when they hold its
   * frame header and either the whole message or a full chunk prefix; returns the position after
   * what it consumed, or undefined (nothing consumed) when they do not.
   */
  private begin(bytes: Buffer, at: number, available: number): number | undefined {
    if (available < FRAME_HEADER) return undefined;
    const length = frameLength(bytes, at);
    const body = at + FRAME_HEADER;
    const inHand = available - FRAME_HEADER;
    if (length <= inHand) {
      const prefix = chunkPrefix(bytes, body, length);
      if (prefix === undefined) {
        this.sink.message(decode(bytes.subarray(body, body + length)));
      } else {
        this.sink.data(bytes.subarray(body + prefix.length, body + length), prefix.offset);
      }
      return body + length;
    }
    if (inHand < Math.min(length, CHUNK_PREFIX)) return undefined;
    const prefix = chunkPrefix(bytes, body, length);
    if (prefix === undefined) {
      if (length > this.maxMessageBytes) {
        throw new SliceFrameError(`a ${length}-byte message is over the ${this.maxMessageBytes}-byte limit`);
      }
      this.whole = [bytes.subarray(body, body + inHand)];
      this.wholeLeft = length - inHand;
      return body + inHand;
    }
    const here = inHand - prefix.length;
    if (here > 0) this.sink.data(bytes.subarray(body + prefix.length, body + inHand), prefix.offset);
    this.dataOffset = prefix.offset + BigInt(here);
    this.dataLeft = prefix.dataLength - here;
    return body + inHand;
  }
}

/** Length of the message whose frame header is at `at`; throws on a compressed one. */
function frameLength(bytes: Buffer, at: number): number {
  const flag = bytes[at];
  if (flag !== 0) {
    throw new SliceFrameError(
      flag === 1
        ? "the agent sent a compressed message, which was not asked for"
        : `bad gRPC frame flag ${flag}`,
    );
  }
  return bytes.readUInt32BE(at + 1);
}

function decode(bytes: Buffer): SliceResponse {
  try {
    return deserializeSliceResponse(bytes);
  } catch (cause) {
    throw new SliceFrameError(`a Slice message does not decode: ${(cause as Error).message}`);
  }
}

/**
 * The prefix of a chunk message of `length` bytes at `at`, laid out as the agent writes it
 * (slice-codec.ts) with at least one data byte; undefined for anything else.
 */
function chunkPrefix(bytes: Buffer, at: number, length: number): ChunkPrefix | undefined {
  const end = at + Math.min(length, CHUNK_PREFIX);
  if (length < 2 || bytes[at] !== TAG_CHUNK) return undefined;
  const reader = { at: at + 1 };
  const inner = readVarint(bytes, reader, end);
  if (inner === undefined || reader.at - at + Number(inner) !== length) return undefined;
  let offset = 0n;
  if (bytes[reader.at] === TAG_SEQUENCE) {
    reader.at++;
    if (readVarint(bytes, reader, end) === undefined) return undefined;
  }
  if (bytes[reader.at] === TAG_OFFSET) {
    reader.at++;
    const value = readVarint(bytes, reader, end);
    if (value === undefined) return undefined;
    offset = value;
  }
  if (reader.at >= end || bytes[reader.at] !== TAG_DATA) return undefined;
  reader.at++;
  const dataLength = readVarint(bytes, reader, end);
  if (dataLength === undefined || dataLength === 0n) return undefined;
  const prefixLength = reader.at - at;
  if (prefixLength + Number(dataLength) !== length) return undefined;
  return { offset, length: prefixLength, dataLength: Number(dataLength) };
}
