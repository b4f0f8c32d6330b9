import { Writable } from "node:stream";
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createLogger } from "@pcapfleet/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CaptureService, SkipReason, SliceResponseSchema } from "./gen/pcapfleet/v1/capture_pb.js";
import { DataChunkSchema } from "./gen/pcapfleet/v1/common_pb.js";
import { DownloadPcapResponseSchema } from "./gen/pcapfleet/v1/jobs_pb.js";
import { createChannel, createClient, defaultCodecs, type MethodCodecs } from "./grpc-adapter.js";
import { bindService } from "./grpc-handlers.js";
import { createGrpcServer, listen } from "./server.js";
import {
  chunkStreamCodec,
  deserializeSliceResponse,
  FramedChunk,
  fastChunk,
  serializeSliceResponse,
  whenSent,
} from "./slice-codec.js";

const uint64 = fc.oneof(
  fc.constantFrom(0n, 1n, 127n, 128n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);
const bytes = fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constant(new Uint8Array(0)));

/** What grpc-js does with a serializer's result on the server: frame it behind 5 bytes. */
function frame(serialized: Buffer): Buffer {
  const out = Buffer.allocUnsafe(serialized.byteLength + 5);
  out.writeUInt8(0, 0);
  out.writeUInt32BE(serialized.byteLength, 1);
  serialized.copy(out, 5);
  return out;
}

describe("slice codec", () => {
  it("encodes a chunk byte for byte as protobuf-es does, and protobuf-es decodes it back", () => {
    fc.assert(
      fc.property(uint64, uint64, bytes, (sequence, offset, data) => {
        const message = create(SliceResponseSchema, {
          kind: { case: "chunk", value: { sequence, offset, data } },
        });
        const reference = toBinary(SliceResponseSchema, message);
        const framed = frame(serializeSliceResponse(message));
        expect(framed.readUInt32BE(1)).toBe(reference.length);
        const fast = framed.subarray(5);
        expect(Buffer.compare(fast, reference)).toBe(0);
        expect(equals(SliceResponseSchema, fromBinary(SliceResponseSchema, fast), message)).toBe(true);
        // Init objects (what the service yields) take the same path.
        const init = serializeSliceResponse({ kind: { case: "chunk", value: { sequence, offset, data } } });
        expect(Buffer.compare(frame(init).subarray(5), reference)).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it("decodes what protobuf-es encodes to an equal message, chunk data as a view of the input", () => {
    fc.assert(
      fc.property(uint64, uint64, bytes, (sequence, offset, data) => {
        const message = create(SliceResponseSchema, {
          kind: { case: "chunk", value: { sequence, offset, data } },
        });
        const encoded = Buffer.from(toBinary(SliceResponseSchema, message));
        const decoded = deserializeSliceResponse(encoded);
        expect(equals(SliceResponseSchema, decoded, message)).toBe(true);
        expect(decoded).toEqual(fromBinary(SliceResponseSchema, encoded));
        if (decoded.kind.case === "chunk" && data.length > 0) {
          expect(decoded.kind.value.data.buffer).toBe(encoded.buffer);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("leaves done messages, unknown fields and other layouts to protobuf-es", () => {
    const done = create(SliceResponseSchema, {
      kind: {
        case: "done",
        value: {
          packets: 5n,
          bytes: 99n,
          sha256: "ab".repeat(32),
          truncated: true,
          skippedFiles: [{ path: "/x", reason: SkipReason.CORRUPT, detail: "bad" }],
        },
      },
    });
    const encoded = serializeSliceResponse(done);
    expect(Buffer.isBuffer(encoded)).toBe(true);
    expect(equals(SliceResponseSchema, deserializeSliceResponse(encoded), done)).toBe(true);
    expect(
      equals(SliceResponseSchema, deserializeSliceResponse(Buffer.alloc(0)), create(SliceResponseSchema)),
    ).toBe(true);

    // Fields out of order and an unknown field 9: valid protobuf the fast reader does not take.
    const chunk = create(DataChunkSchema, { sequence: 3n, offset: 7n, data: new Uint8Array([1, 2]) });
    const reordered = Buffer.from([0x0a, 8, 0x10, 7, 0x08, 3, 0x1a, 2, 1, 2]);
    const decoded = deserializeSliceResponse(reordered);
    expect(decoded.kind.case === "chunk" && equals(DataChunkSchema, decoded.kind.value, chunk)).toBe(true);
    const unknown = Buffer.from([0x0a, 10, 0x08, 3, 0x10, 7, 0x1a, 2, 1, 2, 0x48, 1]);
    const fromUnknown = deserializeSliceResponse(unknown);
    expect(fromUnknown).toEqual(fromBinary(SliceResponseSchema, unknown));
    expect(fastChunk(fromUnknown)).toBeUndefined();
  });

  it("rejects truncated chunks as protobuf-es does", () => {
    const good = Buffer.from([0x0a, 6, 0x08, 3, 0x1a, 2, 1, 2]);
    for (let end = 1; end < good.length; end++) {
      expect(() => deserializeSliceResponse(good.subarray(0, end))).toThrow();
    }
  });

  it("tells a sender when a chunk's bytes were copied into the frame, once, and not before", () => {
    const data = new Uint8Array(1000).fill(9);
    let sentCount = 0;
    whenSent(data, () => sentCount++);
    const value = { kind: { case: "chunk" as const, value: { sequence: 1n, offset: 24n, data } } };
    const encoded = serializeSliceResponse(value);
    expect(sentCount).toBe(0);
    const framed = frame(encoded);
    expect(sentCount).toBe(1);
    // The frame holds its own copy: the sender may now reuse the memory.
    data.fill(0);
    const decoded = fromBinary(SliceResponseSchema, framed.subarray(5));
    expect(decoded.kind.case === "chunk" && decoded.kind.value.data.every((b) => b === 9)).toBe(true);
    frame(serializeSliceResponse(value));
    expect(sentCount).toBe(1);
    // A chunk protobuf-es encodes (unknown fields) is copied at once, and says so.
    const other = new Uint8Array(10);
    let otherSent = false;
    whenSent(other, () => {
      otherSent = true;
    });
    serializeSliceResponse({
      kind: {
        case: "chunk",
        value: { data: other, $unknown: [{ no: 99, wireType: 0, data: new Uint8Array([1]) }] },
      },
    } as Parameters<typeof serializeSliceResponse>[0]);
    expect(otherSent).toBe(true);
  });

  it("refuses to write past the end of the target", () => {
    const chunk = new FramedChunk(1n, 2n, new Uint8Array(10));
    expect(() => chunk.copy(Buffer.alloc(chunk.byteLength + 4), 5)).toThrow(RangeError);
    expect(chunk.toBuffer()).toEqual(
      Buffer.from(
        toBinary(
          SliceResponseSchema,
          create(SliceResponseSchema, {
            kind: { case: "chunk", value: { sequence: 1n, offset: 2n, data: new Uint8Array(10) } },
          }),
        ),
      ),
    );
  });
});

describe("slice codec over real gRPC", () => {
  const sizes = [0, 1, 127, 128, 65_536, 131_072 + 3, 262_144];
  const first = 2n ** 40n;

  /** Serves chunks of `sizes` (bytes derived from the sequence) through a server using `codecs`. */
  async function roundTrip(serverCodecs: MethodCodecs, clientCodecs: MethodCodecs): Promise<void> {
    const log = createLogger({
      name: "codec-test",
      level: "warn",
      destination: new Writable({ write: (_c, _e, done) => done() }),
    });
    const impl = {
      getStatus: () => ({}),
      estimate: () => ({}),
      async *slice() {
        let offset = first;
        for (const [index, size] of sizes.entries()) {
          const sequence = first + BigInt(index);
          yield {
            kind: {
              case: "chunk" as const,
              value: { sequence, offset, data: Buffer.alloc(size, index + 1) },
            },
          };
          offset += BigInt(size);
        }
        yield { kind: { case: "done" as const, value: { bytes: offset - first, sha256: "x" } } };
      },
    };
    const server = createGrpcServer({ log, services: [bindService(CaptureService, impl, serverCodecs)] });
    const port = await listen(server.server, "127.0.0.1:0");
    const channel = createChannel(`127.0.0.1:${port}`);
    try {
      const got = [];
      for await (const message of createClient(CaptureService, channel, clientCodecs).slice({}).responses) {
        got.push(message);
      }
      expect(got).toHaveLength(sizes.length + 1);
      let offset = first;
      for (const [index, size] of sizes.entries()) {
        const expected = create(SliceResponseSchema, {
          kind: {
            case: "chunk",
            value: { sequence: first + BigInt(index), offset, data: Buffer.alloc(size, index + 1) },
          },
        });
        expect(equals(SliceResponseSchema, got[index] ?? create(SliceResponseSchema), expected)).toBe(true);
        offset += BigInt(size);
      }
      expect(got[sizes.length]?.kind).toMatchObject({
        case: "done",
        value: { bytes: offset - first, sha256: "x" },
      });
    } finally {
      channel.close();
      await server.shutdown(1000);
    }
  }

  it("fast server encoding reads back with protobuf-es, and the fast reader reads protobuf-es", async () => {
    await roundTrip(defaultCodecs, new Map());
    await roundTrip(new Map(), defaultCodecs);
    await roundTrip(defaultCodecs, defaultCodecs);
  });
});

describe("DownloadPcap's codec (the same chunk layout)", () => {
  const codec = chunkStreamCodec(DownloadPcapResponseSchema);

  it("encodes chunks and the summary as protobuf-es does, and decodes them to equal messages", () => {
    fc.assert(
      fc.property(uint64, uint64, bytes, (sequence, offset, data) => {
        const chunk = create(DownloadPcapResponseSchema, {
          kind: { case: "chunk", value: { sequence, offset, data } },
        });
        const reference = toBinary(DownloadPcapResponseSchema, chunk);
        expect(Buffer.compare(frame(codec.serialize(chunk)).subarray(5), reference)).toBe(0);
        const input = Buffer.from(reference);
        const decoded = codec.deserialize(input);
        expect(decoded.$typeName).toBe("pcapfleet.v1.DownloadPcapResponse");
        expect(decoded).toEqual(fromBinary(DownloadPcapResponseSchema, input));
      }),
      { numRuns: 300 },
    );
    const done = create(DownloadPcapResponseSchema, {
      kind: { case: "done", value: { bytes: 123n, sha256: "ab".repeat(32) } },
    });
    const encoded = codec.serialize(done);
    expect(Buffer.compare(encoded, toBinary(DownloadPcapResponseSchema, done))).toBe(0);
    expect(equals(DownloadPcapResponseSchema, codec.deserialize(encoded), done)).toBe(true);
  });

  it("is what DownloadPcap uses by default", () => {
    const codecs = defaultCodecs.get("/pcapfleet.v1.JobService/DownloadPcap");
    const message = { kind: { case: "chunk", value: { sequence: 1n, offset: 2n, data: new Uint8Array(3) } } };
    expect(codecs?.serializeResponse?.(message as never)).toBeInstanceOf(FramedChunk);
  });
});
