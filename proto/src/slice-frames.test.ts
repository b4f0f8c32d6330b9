/**
 * SliceFrameReader on gRPC response bytes cut at every place HTTP/2 could cut them: the data
 * comes out whole and in order with the right offsets, other messages decode, and bytes that
 * are not a Slice response fail with a clear error.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { type SliceResponse, SliceResponseSchema } from "./gen/pcapfleet/v1/capture_pb.js";
import { FramedChunk } from "./slice-codec.js";
import { SliceFrameError, SliceFrameReader } from "./slice-frames.js";

function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

const chunk = (sequence: bigint, offset: bigint, data: Uint8Array): Buffer =>
  frame(new FramedChunk(sequence, offset, data).toBuffer());

const done = (bytes: bigint): Buffer =>
  frame(
    toBinary(
      SliceResponseSchema,
      create(SliceResponseSchema, {
        kind: { case: "done", value: { bytes, packets: 3n, sha256: "ab".repeat(32), truncated: true } },
      }),
    ),
  );

/** Bytes 0..n-1 of a pattern that shows a misplaced byte. */
function pattern(n: number, seed = 0): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** Reads `pieces` and returns the data put back together, its offsets and other messages. */
function read(pieces: Buffer[], maxMessageBytes?: number) {
  const data: Buffer[] = [];
  const offsets: bigint[] = [];
  const messages: SliceResponse[] = [];
  const reader = new SliceFrameReader(
    {
      data(bytes, offset) {
        offsets.push(offset);
        data.push(Buffer.from(bytes));
      },
      message: (message) => messages.push(message),
    },
    maxMessageBytes,
  );
  for (const piece of pieces) reader.push(piece);
  reader.end();
  return { data: Buffer.concat(data), offsets, lengths: data.map((d) => d.length), messages };
}

/** Checks that every offset follows the bytes before it, starting at `start`. */
function expectContiguous(offsets: bigint[], lengths: number[], start: bigint): void {
  let next = start;
  offsets.forEach((offset, i) => {
    expect(offset).toBe(next);
    next += BigInt(lengths[i] as number);
  });
}

describe("SliceFrameReader", () => {
  const first = pattern(300, 1);
  const second = pattern(1, 2);
  const third = pattern(70, 3);
  const stream = Buffer.concat([
    chunk(0n, 1000n, first),
    chunk(1n, 1300n, second),
    // Sequence and offset 0 are left out of the encoding: the prefix is just tag + length.
    chunk(0n, 0n, third),
    done(371n),
  ]);

  it("gives the data and the summary for every way of cutting the bytes in two or three", () => {
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b += a < 60 ? 1 : 17) {
        const { data, messages } = read([stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]);
        expect(data.equals(Buffer.concat([first, second, third]))).toBe(true);
        expect(messages).toHaveLength(1);
      }
    }
  });

  it("numbers the data by the offsets the agent gave, within and across pieces", () => {
    for (const size of [1, 2, 7, 64, 1000]) {
      const pieces: Buffer[] = [];
      for (let at = 0; at < stream.length; at += size) pieces.push(stream.subarray(at, at + size));
      const { offsets, lengths, messages } = read(pieces);
      // The first two chunks are numbered from 1000 on, the third from 0.
      const split = offsets.findIndex((offset) => offset < 1000n);
      expectContiguous(offsets.slice(0, split), lengths.slice(0, split), 1000n);
      expectContiguous(offsets.slice(split), lengths.slice(split), 0n);
      const summary = messages[0]?.kind;
      expect(summary?.case).toBe("done");
      if (summary?.case === "done") {
        expect(summary.value.bytes).toBe(371n);
        expect(summary.value.truncated).toBe(true);
      }
    }
  });

  it("hands on views of large pieces without copying them", () => {
    const big = pattern(256 * 1024, 9);
    const bytes = chunk(4n, 5n * 1024n * 1024n * 1024n, big);
    const seen: Buffer[] = [];
    const reader = new SliceFrameReader({ data: (b) => seen.push(b), message: () => undefined });
    reader.push(bytes);
    reader.end();
    expect(seen).toHaveLength(1);
    expect(seen[0]?.buffer).toBe(bytes.buffer);
    expect(seen[0]?.equals(big)).toBe(true);
  });

  it("decodes a chunk with no data and an empty message as messages", () => {
    const empty = frame(new FramedChunk(1n, 10n, new Uint8Array(0)).toBuffer());
    const { data, messages } = read([Buffer.concat([empty, frame(new Uint8Array(0))])]);
    expect(data.length).toBe(0);
    expect(messages.map((m) => m.kind.case)).toEqual(["chunk", undefined]);
  });

  it("refuses a compressed message", () => {
    const bytes = chunk(0n, 0n, pattern(10));
    bytes[0] = 1;
    expect(() => read([bytes])).toThrow(/compressed message, which was not asked for/);
  });

  it("refuses a response that stops inside a message", () => {
    const bytes = chunk(0n, 0n, pattern(100));
    for (const cut of [3, 5, 20, bytes.length - 1]) {
      expect(() => read([bytes.subarray(0, cut)])).toThrow(SliceFrameError);
    }
  });

  it("refuses a message that does not decode", () => {
    // Field 2 (done) as a length-delimited field longer than the message.
    expect(() => read([frame(Uint8Array.of(0x12, 0x7f, 0x01))])).toThrow(/does not decode/);
  });

  it("refuses a message read whole that is over the limit, before gathering it", () => {
    const summary = done(1n);
    const big = Buffer.alloc(5);
    big.writeUInt32BE(1_000_000, 1);
    const reader = new SliceFrameReader({ data: () => undefined, message: () => undefined }, 1000);
    expect(() => reader.push(Buffer.concat([big, summary.subarray(5), Buffer.alloc(100)]))).toThrow(
      /1000000-byte message is over the 1000-byte limit/,
    );
  });
});
