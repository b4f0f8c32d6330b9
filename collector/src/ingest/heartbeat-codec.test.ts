import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { AppError, ErrorCode } from "@pcapfleet/core";
import { type HeartbeatSchema, HeartbeatsRequestSchema } from "@pcapfleet/proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toHeartbeatRecord } from "./heartbeat.js";
import { decodeHeartbeatsRequest, type IngestRequest } from "./heartbeat-codec.js";

/** What protobuf-es and `toHeartbeatRecord` make of `bytes`: the reference the codec must match. */
function reference(bytes: Uint8Array): IngestRequest | "unreadable" {
  let request: ReturnType<typeof fromBinary<typeof HeartbeatsRequestSchema>>;
  try {
    request = fromBinary(HeartbeatsRequestSchema, bytes);
  } catch {
    return "unreadable";
  }
  if (request.kind.case !== "heartbeat") return { case: undefined };
  const heartbeat = request.kind.value;
  try {
    return { case: "heartbeat", sequence: heartbeat.sequence, record: toHeartbeatRecord(heartbeat) };
  } catch (error) {
    return { case: "invalid", error: AppError.from(error) };
  }
}

/** `decoded` equals the reference; for refusals, the same message. */
function expectSame(decoded: IngestRequest, ref: IngestRequest | "unreadable"): void {
  if (ref === "unreadable") {
    expect(decoded.case).toBe("invalid");
    return;
  }
  if (ref.case === "invalid" && decoded.case === "invalid") {
    expect(decoded.error.message).toBe(ref.error.message);
    expect(decoded.error.code).toBe(ErrorCode.InvalidArgument);
    return;
  }
  expect(decoded).toEqual(ref);
}

const uint64 = fc.oneof(
  fc.constantFrom(
    0n,
    1n,
    127n,
    128n,
    2n ** 32n - 1n,
    2n ** 32n,
    2n ** 53n - 1n,
    2n ** 53n,
    2n ** 63n,
    2n ** 64n - 1n,
  ),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  fc.bigInt({ min: 0n, max: 10n ** 12n }),
);
const nowNs = 1_764_300_000_000_000_000n;
const int64 = fc.oneof(
  fc.constantFrom(0n, -1n, 1n, 59_999_999_999n, 60_000_000_000n, -(2n ** 53n), -(2n ** 63n), 2n ** 63n - 1n),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.bigInt({ min: nowNs - 10n ** 15n, max: nowNs + 10n ** 15n }),
);
const double = fc.oneof(
  fc.double(),
  fc.double({ min: 0, max: 100, noNaN: true }),
  fc.constantFrom(0, -0, 97.5),
);
const enumValue = fc.integer({ min: -2, max: 6 });
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 8 }),
  fc.constantFrom("", " ", "eth0", "/var/pcap", "a\u0000b\u001fc", "x".repeat(600), "10.1.0.0/16", "::1/200"),
);
const sensorName = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,20}$/),
  fc.constantFrom("", "-bad", "a b", "x".repeat(254)),
);
const timestamp = fc.record({
  seconds: fc.oneof(
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc.bigInt({ min: 0n, max: 2n ** 34n }),
  ),
  nanos: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
});
/** Fields no version of the .proto has, as a newer agent might send them. */
const unknown = fc.constantFrom(
  [],
  [{ no: 90, wireType: 0, data: new Uint8Array([0x96, 0x01]) }],
  [
    { no: 91, wireType: 2, data: new Uint8Array([3, 1, 2, 3]) },
    { no: 92, wireType: 1, data: new Uint8Array(8).fill(7) },
    { no: 93, wireType: 5, data: new Uint8Array(4).fill(9) },
  ],
);

const device = fc.record({
  name: fc.oneof(text, fc.constantFrom("eth0", "eth1")),
  state: enumValue,
  speedMbps: uint64,
  rxBytes: uint64,
  txBytes: uint64,
  rxPackets: uint64,
  txPackets: uint64,
  rxDropped: uint64,
  txDropped: uint64,
  rxErrors: uint64,
  txErrors: uint64,
  capturing: fc.boolean(),
  $unknown: unknown,
});
const store = fc.record(
  {
    path: text,
    state: enumValue,
    error: text,
    disk: fc.record({ sizeBytes: uint64, usedBytes: uint64, freeBytes: uint64, usedPercent: double }),
    pcap: fc.record({
      oldestPacketNs: int64,
      newestPacketNs: int64,
      bytes: uint64,
      files: uint64,
      ingestBytesPerSecond: double,
      retentionForecastHours: double,
    }),
    corruptFiles: uint64,
  },
  { requiredKeys: ["path", "state"] },
);
const status = fc.record(
  {
    identity: fc.record({
      name: sensorName,
      location: text,
      version: text,
      agentAddress: text,
      hostname: text,
    }),
    health: fc.record({
      cpuPercent: double,
      memoryTotalBytes: uint64,
      memoryUsedBytes: uint64,
      load1m: double,
      load5m: double,
      load15m: double,
      hostUptimeSeconds: uint64,
      agentUptimeSeconds: uint64,
      agentRssBytes: uint64,
    }),
    stores: fc.array(store, { maxLength: 3 }),
    devices: fc.array(device, { maxLength: 4 }),
    capture: fc.array(
      fc.record({
        interface: text,
        packetsReceived: uint64,
        packetsDroppedKernel: uint64,
        packetsDroppedInterface: uint64,
      }),
      { maxLength: 2 },
    ),
    busyTasks: fc.array(
      fc.record(
        {
          taskId: text,
          jobId: text,
          kind: enumValue,
          startedAt: timestamp,
          progress: double,
          bytesDone: uint64,
          packetsDone: uint64,
        },
        { requiredKeys: ["taskId"] },
      ),
      { maxLength: 2 },
    ),
    $unknown: unknown,
  },
  // The identity is there in most cases, so most heartbeats reach the record.
  { requiredKeys: ["identity", "stores", "devices", "capture"] },
);
const traffic = fc.record({
  minuteStartNs: int64,
  prefix: fc.oneof(text, fc.constantFrom("10.1.0.0/16", "10.1.2.3/16", "2001:db8::/32", "10.0.0.0/33")),
  direction: enumValue,
  bytes: uint64,
  packets: uint64,
});
const heartbeat: fc.Arbitrary<MessageInitShape<typeof HeartbeatSchema>> = fc.record(
  {
    sequence: uint64,
    sentAt: timestamp,
    status,
    traffic: fc.array(traffic, { maxLength: 4 }),
    $unknown: unknown,
  },
  { requiredKeys: ["sequence", "status", "traffic"] },
);

const encode = (value: MessageInitShape<typeof HeartbeatSchema>): Buffer =>
  Buffer.from(
    toBinary(
      HeartbeatsRequestSchema,
      create(HeartbeatsRequestSchema, { kind: { case: "heartbeat", value } }),
    ),
  );

describe("heartbeat codec", () => {
  it("decodes generated heartbeats (unknown fields included) to what protobuf-es + toHeartbeatRecord give", () => {
    let records = 0;
    fc.assert(
      fc.property(heartbeat, (value) => {
        const bytes = encode(value);
        const decoded = decodeHeartbeatsRequest(bytes);
        expectSame(decoded, reference(bytes));
        if (decoded.case === "heartbeat") records += 1;
      }),
      { numRuns: 1000 },
    );
    // Many generated heartbeats have a valid identity: much of the comparison was of records.
    expect(records).toBeGreaterThan(300);
  });

  it("merges a heartbeat sent as two parts as protobuf does (singular merged, repeated appended)", () => {
    fc.assert(
      fc.property(heartbeat, heartbeat, (a, b) => {
        const bytes = Buffer.concat([encode(a), encode(b)]);
        expectSame(decodeHeartbeatsRequest(bytes), reference(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it("skips unknown fields of every wire type, groups included", () => {
    const bytes = encode({
      sequence: 7n,
      status: { identity: { name: "s1", location: "dc1" } },
    });
    const unknownFields = Buffer.from([
      // field 20 varint, field 21 fixed64, field 22 length 2, field 23 fixed32, field 24 group
      // holding a varint field and a nested group, closed by its end-group tag.
      0xa0, 0x01, 0xff, 0x01, 0xa9, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0xb2, 0x01, 2, 0xaa, 0xbb, 0xbd, 0x01, 1, 2,
      3, 4, 0xc3, 0x01, 0x08, 0x05, 0x1b, 0x1c, 0xc4, 0x01,
    ]);
    const withUnknown = Buffer.concat([unknownFields, bytes, unknownFields]);
    const decoded = decodeHeartbeatsRequest(withUnknown);
    expect(decoded.case).toBe("heartbeat");
    expect(decoded).toEqual(reference(bytes));
    if (decoded.case === "heartbeat")
      expect(decoded.record).toMatchObject({ sensor: "s1", location: "dc1", sequence: 7 });
    expect(decodeHeartbeatsRequest(unknownFields)).toEqual({ case: undefined });
    expect(decodeHeartbeatsRequest(Buffer.alloc(0))).toEqual({ case: undefined });
  });

  it("refuses every truncation of a heartbeat as protobuf-es does, and never throws", () => {
    fc.assert(
      fc.property(heartbeat, fc.nat(), (value, at) => {
        const bytes = encode(value);
        const cut = bytes.subarray(0, at % (bytes.length + 1));
        expectSame(decodeHeartbeatsRequest(cut), reference(cut));
      }),
      { numRuns: 1000 },
    );
  });

  it("turns malformed bytes into a clear invalid_argument error, never a throw", () => {
    const cases: [number[], RegExp][] = [
      [[0x0a, 0x05, 0x08], /length 5 past the end/],
      [[0x0a, 0x02, 0x08, 0x80], /truncated varint/],
      [[0x10, ...new Array(10).fill(0xff), 0x01], /varint over 10 bytes/],
      [[0x00], /illegal tag 0/],
      [[0x0f], /illegal tag/],
      [[0x14], /unexpected wire type 4/],
      [[0x13, 0x08, 0x01], /unterminated group/],
      [[0x09, 1, 2], /field 1 has unexpected wire type 1/],
      // status.identity sent as a varint
      [[0x0a, 0x04, 0x1a, 0x02, 0x08, 0x01], /field 1 has unexpected wire type 0/],
      // a sub-message whose last field runs past its own end
      [[0x0a, 0x04, 0x1a, 0x01, 0x0a, 0x05], /past the end|crosses/],
    ];
    for (const [bytes, pattern] of cases) {
      const decoded = decodeHeartbeatsRequest(Buffer.from(bytes));
      expect(decoded.case, bytes.join(",")).toBe("invalid");
      if (decoded.case === "invalid") {
        expect(decoded.error.code).toBe(ErrorCode.InvalidArgument);
        expect(decoded.error.message).toMatch(/^heartbeat rejected: malformed protobuf: /);
        expect(decoded.error.message, bytes.join(",")).toMatch(pattern);
      }
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const decoded = decodeHeartbeatsRequest(Buffer.from(bytes));
        if (decoded.case === "invalid") expect(decoded.error.code).toBe(ErrorCode.InvalidArgument);
      }),
      { numRuns: 3000 },
    );
  });

  it("refuses a heartbeat without identity or with a bad name as toHeartbeatRecord does", () => {
    for (const value of [
      { sequence: 1n },
      { sequence: 1n, status: {} },
      { sequence: 1n, status: { identity: { name: "" } } },
      { sequence: 1n, status: { identity: { name: "bad name" } } },
      { sequence: 1n, status: { identity: { name: "ok", location: "x".repeat(129) } } },
    ]) {
      const bytes = encode(value);
      const decoded = decodeHeartbeatsRequest(bytes);
      expect(decoded.case).toBe("invalid");
      expectSame(decoded, reference(bytes));
    }
  });
});
