import { AppError, ErrorCode } from "@pcapfleet/core";

/**
 * A small reader of the protobuf wire format over one Buffer, for the hand-written heartbeat
 * decoder (`heartbeat-codec.ts`). It allocates nothing per value: 64-bit varints are read as two
 * 32-bit halves and handed out as numbers while they are exact (a BigInt only above 2^53), and
 * strings of ASCII bytes are sliced without a TextDecoder.
 *
 * Malformed input (a truncated value, a varint over 10 bytes, a length past the end, an invalid
 * wire type, a known field with the wrong wire type) throws an `invalid_argument` {@link AppError}
 * naming the byte offset, never a RangeError from deep inside.
 */

/** Wire types of the protobuf encoding. */
export const WireType = {
  Varint: 0,
  Fixed64: 1,
  LengthDelimited: 2,
  StartGroup: 3,
  EndGroup: 4,
  Fixed32: 5,
} as const;

const TWO_32 = 4_294_967_296;
/** Values of `hi` below this keep `hi * 2^32 + lo` under 2^53, so exact as a number. */
const SAFE_HI = 0x20_0000;

// protobuf-es decodes strings with a (non-fatal) TextDecoder; the same one, for identical text.
const utf8 = new TextDecoder();

/** A 64-bit integer: a number while exact (|v| < 2^53), else a BigInt. */
export type Int64 = number | bigint;

/** Reads protobuf wire data from `buf`; see the module comment. */
export class WireReader {
  /** Offset of the next byte to read. */
  pos = 0;
  /** Low and high 32 bits (unsigned) of the last {@link WireReader.varint64}. */
  lo = 0;
  hi = 0;
  /** Set by {@link WireReader.nanosParts}: floor(ns / 1e6) and ns mod 1e6. */
  q = 0;
  r = 0;
  readonly buf: Buffer;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  /** An `invalid_argument` error at the current offset. */
  error(what: string): AppError {
    return new AppError(
      ErrorCode.InvalidArgument,
      `heartbeat rejected: malformed protobuf: ${what} at byte ${this.pos}`,
    );
  }

  /** A field tag: `fieldNo << 3 | wireType`, checked like protobuf-es does. */
  tag(): number {
    const tag = this.uint32();
    const wireType = tag & 7;
    if (tag >>> 3 === 0 || wireType > 5) throw this.error(`illegal tag ${tag}`);
    return tag;
  }

  /** Throws unless `wireType` is `want` (a known field sent with another type). */
  expect(tag: number, want: number): void {
    if ((tag & 7) !== want) throw this.error(`field ${tag >>> 3} has wire type ${tag & 7}, expected ${want}`);
  }

  /** Reads a varint into {@link WireReader.lo} / {@link WireReader.hi}. */
  varint64(): void {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    let pos = this.pos;
    // Bytes 1-4 fill the low 28 bits, the 5th byte straddles the halves, 6-10 the high bits.
    for (; shift < 28; shift += 7) {
      if (pos >= buf.length) throw this.error("truncated varint");
      const b = buf[pos++] as number;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        this.lo = lo >>> 0;
        this.hi = 0;
        return;
      }
    }
    if (pos >= buf.length) throw this.error("truncated varint");
    let b = buf[pos++] as number;
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b >= 0x80) {
      for (shift = 3; ; shift += 7) {
        if (shift > 31) throw this.error("varint over 10 bytes");
        if (pos >= buf.length) throw this.error("truncated varint");
        b = buf[pos++] as number;
        hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
    }
    this.pos = pos;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** A varint's low 32 bits, unsigned (tags, lengths). */
  uint32(): number {
    const buf = this.buf;
    const pos = this.pos;
    // One byte is the common case (tags, short lengths).
    if (pos < buf.length && (buf[pos] as number) < 0x80) {
      this.pos = pos + 1;
      return buf[pos] as number;
    }
    this.varint64();
    return this.lo;
  }

  /** An int32 or enum: the varint's low 32 bits, signed. */
  int32(): number {
    this.varint64();
    return this.lo | 0;
  }

  /** A bool: any non-zero varint. */
  bool(): boolean {
    this.varint64();
    return this.lo !== 0 || this.hi !== 0;
  }

  /** A uint64. */
  uint64(): Int64 {
    this.varint64();
    if (this.hi < SAFE_HI) return this.hi * TWO_32 + this.lo;
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** An int64 (two's complement). */
  int64(): Int64 {
    this.varint64();
    const { lo, hi } = this;
    if (hi < SAFE_HI) return hi * TWO_32 + lo;
    // Negative down to -2^53: (hi - 2^32) is at least -2^21, so the product and sum are exact.
    if (hi >= 0xffe0_0000) return (hi - TWO_32) * TWO_32 + lo;
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  /**
   * An int64 of nanoseconds, split without a BigInt: sets {@link WireReader.q} = floor(ns / 1e6)
   * (exact: below 2^53 for any int64) and {@link WireReader.r} = ns mod 1e6. Returns false for
   * ns ≤ 0 ("none" to the collector), leaving q and r unset.
   */
  nanosParts(): boolean {
    this.varint64();
    const { lo, hi } = this;
    if (hi >= 0x8000_0000 || (hi === 0 && lo === 0)) return false;
    // Long division by 1e6 in base 2^32: rh * 2^32 + lo stays below 2^53.
    const qh = Math.floor(hi / 1e6);
    const rh = hi - qh * 1e6;
    const t = rh * TWO_32 + lo;
    const ql = Math.floor(t / 1e6);
    this.q = qh * TWO_32 + ql;
    this.r = t - ql * 1e6;
    return true;
  }

  /** A double (fixed64, little-endian). */
  double(): number {
    if (this.pos + 8 > this.buf.length) throw this.error("truncated double");
    const value = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }

  /** Reads a length prefix and returns where the value ends; throws when past the buffer. */
  enter(): number {
    const length = this.uint32();
    const end = this.pos + length;
    if (end > this.buf.length) throw this.error(`length ${length} past the end`);
    return end;
  }

  /** Throws unless a sub-message read up to `end` stopped exactly there. */
  leave(end: number): void {
    if (this.pos !== end) throw this.error("field crosses the end of its message");
  }

  /** A string field, as protobuf-es decodes it (invalid UTF-8 becomes U+FFFD). */
  string(): string {
    const end = this.enter();
    const buf = this.buf;
    const start = this.pos;
    this.pos = end;
    for (let i = start; i < end; i += 1) {
      if ((buf[i] as number) >= 0x80) return utf8.decode(buf.subarray(start, end));
    }
    return buf.toString("latin1", start, end);
  }

  /** Skips a field of `wireType` (an unknown field), including groups. */
  skip(tag: number): void {
    switch (tag & 7) {
      case WireType.Varint:
        this.varint64();
        return;
      case WireType.Fixed64:
        this.advance(8);
        return;
      case WireType.LengthDelimited:
        this.pos = this.enter();
        return;
      case WireType.Fixed32:
        this.advance(4);
        return;
      case WireType.StartGroup:
        for (;;) {
          if (this.pos >= this.buf.length) throw this.error("unterminated group");
          const inner = this.tag();
          if ((inner & 7) === WireType.EndGroup) {
            if (inner >>> 3 !== tag >>> 3) throw this.error("mismatched end of group");
            return;
          }
          this.skip(inner);
        }
      default:
        throw this.error(`unexpected wire type ${tag & 7}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.buf.length) throw this.error("truncated fixed-width value");
    this.pos += n;
  }
}
