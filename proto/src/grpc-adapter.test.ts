import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import { create, equals } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { AppError, createLogger, ErrorCode, GrpcStatus } from "@pcapfleet/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CaptureService, SkipReason } from "./gen/pcapfleet/v1/capture_pb.js";
import { Coverage } from "./gen/pcapfleet/v1/common_pb.js";
import { HeartbeatSchema, type HeartbeatsRequest, SensorIngest } from "./gen/pcapfleet/v1/ingest_pb.js";
import { DeviceState, StoreState, TrafficDirection } from "./gen/pcapfleet/v1/sensor_pb.js";
import { createChannel, createClient, type TypedClient } from "./grpc-adapter.js";
import { bindService, type ServiceImpl } from "./grpc-handlers.js";
import { createGrpcServer, type GrpcServer, listen } from "./server.js";

const chunkSize = 256 * 1024;
const logLines: string[] = [];
const log = createLogger({
  name: "proto-test",
  level: "debug",
  destination: new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  }),
});

/** What the server saw, for assertions about cancellation and received messages. */
const seenHeartbeats: HeartbeatsRequest[] = [];
let stopEndless: (result: { aborted: boolean }) => void = () => undefined;
const endlessStopped = new Promise<{ aborted: boolean }>((resolve) => {
  stopEndless = resolve;
});

const captureImpl: ServiceImpl<typeof CaptureService> = {
  // Deliberately not async: a synchronous throw must become a status too.
  getStatus(_request, context) {
    if (context.metadata.get("fail").length > 0) throw new AppError(ErrorCode.Unavailable, "store busy");
    return {
      status: {
        identity: { name: "s1", location: "dc1", version: "0.1.0", agentAddress: "127.0.0.1:50052" },
        health: { cpuPercent: 12.5, memoryTotalBytes: 8n << 30n, load1m: 0.5, agentRssBytes: 90_000_000n },
        stores: [
          {
            path: "/var/pcap",
            state: StoreState.OK,
            disk: { sizeBytes: 100n, usedBytes: 40n, freeBytes: 60n, usedPercent: 40 },
            pcap: { oldestPacketNs: 1_700_000_000_123_456_789n, newestPacketNs: 1_700_000_600_000_000_001n },
          },
        ],
      },
    };
  },
  async estimate(request) {
    if (request.filter === "bad") throw new AppError(ErrorCode.InvalidArgument, "filter does not compile");
    if (request.filter === "boom") throw new Error("secret detail /etc/shadow");
    const seconds = (request.window?.endNs ?? 0n) - (request.window?.startNs ?? 0n);
    return {
      packets: seconds / 1_000_000n,
      bytes: seconds / 1000n,
      coverage: Coverage.PARTLY_COVERED,
      exact: true,
    };
  },
  async *slice(request, context) {
    if (request.filter === "missing") throw new AppError(ErrorCode.NotFound, "no such store");
    const endless = request.filter === "endless";
    const hash = createHash("sha256");
    let offset = 0n;
    try {
      for (let sequence = 0n; endless || offset < request.maxBytes; sequence++) {
        const data = Buffer.alloc(chunkSize, Number(sequence % 251n));
        hash.update(data);
        yield { kind: { case: "chunk", value: { sequence, offset, data } } };
        offset += BigInt(data.length);
      }
      yield {
        kind: {
          case: "done",
          value: {
            packets: 42n,
            bytes: offset,
            sha256: hash.digest("hex"),
            skippedFiles: [{ path: "/var/pcap/x.pcap", reason: SkipReason.CORRUPT, detail: "bad magic" }],
          },
        },
      };
    } finally {
      if (endless) stopEndless({ aborted: context.signal.aborted });
    }
  },
};

const ingestImpl: ServiceImpl<typeof SensorIngest> = {
  async *heartbeats(requests) {
    for await (const request of requests) {
      seenHeartbeats.push(request);
      if (request.kind.case !== "heartbeat") continue;
      yield {
        kind: {
          case: "ack",
          value: { sequence: request.kind.value.sequence, heartbeatIntervalSeconds: 10 },
        },
      };
    }
  },
};

let server: GrpcServer;
let channel: grpc.Client;
let capture: TypedClient<typeof CaptureService>;
let ingest: TypedClient<typeof SensorIngest>;
let address: string;

beforeAll(async () => {
  server = createGrpcServer({
    log,
    services: [bindService(CaptureService, captureImpl), bindService(SensorIngest, ingestImpl)],
  });
  const port = await listen(server.server, "127.0.0.1:0");
  address = `127.0.0.1:${port}`;
  channel = createChannel(address);
  capture = createClient(CaptureService, channel);
  ingest = createClient(SensorIngest, channel);
});

afterAll(async () => {
  channel?.close();
  await server?.shutdown(1000);
});

/** Resolves to the error a promise rejects with, failing the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error("expected the call to fail");
}

describe("typed unary calls", () => {
  it("round-trips nested messages, enums and 64-bit integers", async () => {
    const response = await capture.getStatus({});
    const store = response.status?.stores[0];
    expect(response.status?.identity?.name).toBe("s1");
    expect(response.status?.health?.memoryTotalBytes).toBe(8n << 30n);
    expect(store?.state).toBe(StoreState.OK);
    expect(store?.pcap?.oldestPacketNs).toBe(1_700_000_000_123_456_789n);
    expect(store?.disk?.usedPercent).toBe(40);
  });

  it("passes request fields through", async () => {
    const response = await capture.estimate({
      window: { startNs: 0n, endNs: 60_000_000_000n },
      filter: "tcp",
    });
    expect(response.packets).toBe(60_000n);
    expect(response.coverage).toBe(Coverage.PARTLY_COVERED);
    expect(response.exact).toBe(true);
  });

  it("delivers an AppError as its gRPC status, and AppError.from maps it back", async () => {
    const error = await rejection(capture.estimate({ filter: "bad" }));
    expect(error.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(error.details).toBe("filter does not compile");
    expect(AppError.from(error).code).toBe(ErrorCode.InvalidArgument);
  });

  it("maps a synchronous throw and reads request metadata", async () => {
    const metadata = new grpc.Metadata();
    metadata.set("fail", "yes");
    const error = await rejection(capture.getStatus({}, { metadata }));
    expect(error.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(error.details).toBe("store busy");
  });

  it("hides the message of an internal fault from the caller and logs it", async () => {
    const error = await rejection(capture.estimate({ filter: "boom" }));
    expect(error.code).toBe(GrpcStatus.INTERNAL);
    expect(error.details).toBe("internal error");
    expect(logLines.some((line) => line.includes("secret detail /etc/shadow"))).toBe(true);
  });

  it("honours an already-aborted signal", async () => {
    const error = await rejection(capture.getStatus({}, { signal: AbortSignal.abort() }));
    expect(error.code).toBe(GrpcStatus.CANCELLED);
  });
});

describe("server-streaming calls", () => {
  it("streams 16 MiB of chunks in order and a final summary", async () => {
    const maxBytes = BigInt(64 * chunkSize);
    const hash = createHash("sha256");
    let expectedOffset = 0n;
    let sequence = 0n;
    let done: { bytes: bigint; sha256: string; packets: bigint; skipped: number } | undefined;
    for await (const response of capture.slice({ taskId: "t1", maxBytes }).responses) {
      if (response.kind.case === "chunk") {
        expect(response.kind.value.sequence).toBe(sequence++);
        expect(response.kind.value.offset).toBe(expectedOffset);
        expectedOffset += BigInt(response.kind.value.data.length);
        hash.update(response.kind.value.data);
      } else if (response.kind.case === "done") {
        const value = response.kind.value;
        done = {
          bytes: value.bytes,
          sha256: value.sha256,
          packets: value.packets,
          skipped: value.skippedFiles.length,
        };
        expect(value.skippedFiles[0]?.reason).toBe(SkipReason.CORRUPT);
      }
    }
    expect(done).toEqual({ bytes: maxBytes, sha256: hash.digest("hex"), packets: 42n, skipped: 1 });
  });

  it("reports a handler's AppError as the stream's status", async () => {
    const error = await rejection(
      (async () => {
        for await (const _ of capture.slice({ filter: "missing" }).responses) {
          // No message is expected before the error.
        }
      })(),
    );
    expect(error.code).toBe(GrpcStatus.NOT_FOUND);
    expect(error.details).toBe("no such store");
  });

  it("cancels the server's generator when the reader stops early", async () => {
    let received = 0;
    for await (const _ of capture.slice({ filter: "endless" }).responses) {
      if (++received === 3) break;
    }
    await expect(endlessStopped).resolves.toEqual({ aborted: true });
    // The server is still healthy afterwards.
    await expect(capture.getStatus({})).resolves.toBeDefined();
  });
});

describe("bidi-streaming heartbeats", () => {
  it("acks each heartbeat and receives the messages intact", async () => {
    const { requests, responses } = ingest.heartbeats();
    const sent = [1n, 2n, 3n].map((sequence) =>
      create(HeartbeatSchema, {
        sequence,
        sentAt: timestampFromDate(new Date(1_700_000_000_000 + Number(sequence))),
        status: {
          identity: { name: "s1", location: "dc1" },
          devices: [{ name: "eth0", state: DeviceState.UP, speedMbps: 10_000n, rxDropped: 7n }],
          capture: [{ interface: "eth0", packetsReceived: 1000n, packetsDroppedKernel: 3n }],
          busyTasks: [{ taskId: "t1", jobId: "j1", progress: 0.5 }],
        },
        traffic: [
          {
            minuteStartNs: 1_700_000_040_000_000_000n,
            prefix: "10.0.0.0/8",
            direction: TrafficDirection.SRC,
            bytes: 1500n,
            packets: 1n,
          },
        ],
      }),
    );
    for (const heartbeat of sent) requests.write({ kind: { case: "heartbeat", value: heartbeat } });
    requests.end();

    const acked: bigint[] = [];
    for await (const response of responses) {
      if (response.kind.case === "ack") acked.push(response.kind.value.sequence);
    }
    expect(acked).toEqual([1n, 2n, 3n]);
    const received = seenHeartbeats.map((request) => request.kind.value);
    expect(received.length).toBe(3);
    received.forEach((heartbeat, index) => {
      const original = sent[index];
      expect(
        heartbeat !== undefined && original !== undefined && equals(HeartbeatSchema, heartbeat, original),
      ).toBe(true);
    });
  });
});

describe("malformed requests", () => {
  const identity = (bytes: Buffer): Buffer => bytes;
  // Field 2 (filter) announced as 100 bytes long, followed by one byte: cannot decode.
  const garbage = Buffer.from([0x12, 0x64, 0x41]);

  it("fail a unary call with a clean status and leave the server running", async () => {
    const status = await new Promise<grpc.ServiceError | null>((resolve) => {
      channel.makeUnaryRequest(
        "/pcapfleet.v1.CaptureService/Estimate",
        identity,
        identity,
        garbage,
        (error) => resolve(error),
      );
    });
    expect(status?.code).toBe(GrpcStatus.INTERNAL);
    await expect(capture.getStatus({})).resolves.toBeDefined();
  });

  it("fail a bidi stream with a clean status", async () => {
    const call = channel.makeBidiStreamRequest("/pcapfleet.v1.SensorIngest/Heartbeats", identity, identity);
    const ended = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
    call.on("error", () => undefined);
    call.on("data", () => undefined);
    call.write(garbage);
    call.end();
    expect((await ended).code).toBe(GrpcStatus.INTERNAL);
    await expect(capture.getStatus({})).resolves.toBeDefined();
  });
});
