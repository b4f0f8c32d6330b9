import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  createChannel,
  createClient,
  createGrpcServer,
  type GrpcServer,
  HeartbeatsRequestSchema,
  HeartbeatsResponseSchema,
  listen,
  SensorIngest,
  StoreState,
  TrafficDirection,
  type TypedClient,
} from "@pcapfleet/proto";
import type { Db } from "../db/index.js";
import { silentLogger } from "../db/testing.js";
import type { Kv } from "../kv/index.js";
import type { SensorThresholds } from "../sensors/thresholds.js";
import { createIngestService, type IngestBatchOptions, type IngestService } from "./service.js";

/**
 * Test support: a real gRPC server running the ingest service on 127.0.0.1 port 0, a client,
 * and a builder of realistic heartbeats. Used by the ingest and sensor-query suites.
 */

type IngestClient = TypedClient<typeof SensorIngest>;
type Call = ReturnType<IngestClient["heartbeats"]>;
/** A HeartbeatsRequest as the client writes it. */
export type HeartbeatRequest = Parameters<Call["requests"]["write"]>[0];

/** A controllable clock shared by the service and the heartbeat builder. */
export interface TestClock {
  ms: number;
  readonly now: () => Date;
}

/** A clock at `startMs` that moves only when a test moves it. */
export function testClock(startMs = Date.parse("2024-03-10T12:00:00Z")): TestClock {
  const clock: TestClock = { ms: startMs, now: () => new Date(clock.ms) };
  return clock;
}

/** What a test heartbeat says; everything has a healthy default. */
export interface BeatSpec {
  readonly sequence: number;
  readonly location?: string;
  readonly version?: string;
  readonly diskUsedPercent?: number;
  readonly devices?: readonly string[];
  readonly traffic?: readonly { minute: number; prefix: string; dir: "src" | "dst"; bytes: number }[];
  readonly received?: number;
  readonly dropped?: number;
}

/** A heartbeat request of sensor `name` sent at `clock`'s time. */
export function beat(name: string, clock: TestClock, spec: BeatSpec): HeartbeatRequest {
  const nowNs = BigInt(clock.ms) * 1_000_000n;
  return {
    kind: {
      case: "heartbeat",
      value: {
        sequence: BigInt(spec.sequence),
        sentAt: { seconds: BigInt(Math.floor(clock.ms / 1000)), nanos: 0 },
        status: {
          identity: {
            name,
            location: spec.location ?? "dc1",
            version: spec.version ?? "1.0.0",
            agentAddress: "127.0.0.1:50052",
            hostname: `${name}.example`,
          },
          health: { cpuPercent: 12.5, memoryTotalBytes: 8n << 30n, memoryUsedBytes: 2n << 30n, load1m: 0.4 },
          stores: [
            {
              path: "/var/pcap",
              state: StoreState.OK,
              disk: {
                sizeBytes: 1000n,
                usedBytes: 400n,
                freeBytes: 600n,
                usedPercent: spec.diskUsedPercent ?? 40,
              },
              pcap: {
                oldestPacketNs: nowNs - 3_600_000_000_000n,
                newestPacketNs: nowNs - 1_000_000_000n,
                bytes: 5_000_000n,
                files: 5n,
                ingestBytesPerSecond: 1000,
                retentionForecastHours: 72,
              },
            },
          ],
          devices: (spec.devices ?? ["eth0"]).map((device) => ({
            name: device,
            speedMbps: 10_000n,
            rxBytes: 1n,
          })),
          capture: [
            {
              interface: "eth0",
              packetsReceived: BigInt(spec.received ?? 1000 * spec.sequence),
              packetsDroppedKernel: BigInt(spec.dropped ?? 0),
            },
          ],
        },
        traffic: (spec.traffic ?? []).map((row) => ({
          minuteStartNs: BigInt(row.minute) * 60_000_000_000n,
          prefix: row.prefix,
          direction: row.dir === "src" ? TrafficDirection.SRC : TrafficDirection.DST,
          bytes: BigInt(row.bytes),
          packets: 1n,
        })),
      },
    },
  };
}

/** One agent's heartbeat stream. */
export interface AgentStream {
  /** Sends one request and resolves to the acked sequence. */
  send(request: HeartbeatRequest): Promise<bigint>;
  /** Sends without waiting; read acks with `ack()`. */
  write(request: HeartbeatRequest): void;
  /** The next ack's sequence; rejects with the call's error when it fails. */
  ack(): Promise<bigint>;
  end(): void;
}

/** A heartbeat stream writing raw bytes as request messages (for malformed input). */
export interface RawStream {
  write(bytes: Buffer): void;
  /** The next ack's sequence; rejects with the call's error when it fails. */
  ack(): Promise<bigint>;
  end(): void;
}

/** The protobuf encoding of a test heartbeat request. */
export function encodeRequest(request: HeartbeatRequest): Buffer {
  return Buffer.from(toBinary(HeartbeatsRequestSchema, create(HeartbeatsRequestSchema, request)));
}

/** A running ingest server with a client. */
export interface IngestHarness {
  readonly service: IngestService;
  readonly address: string;
  open(): AgentStream;
  /** A stream whose request messages are the given bytes, sent as they are. */
  openRaw(): RawStream;
  close(): Promise<void>;
}

/** Starts the ingest service on a real gRPC server; `batch` overrides its batch settings. */
export async function startIngest(
  db: Db,
  kv: Kv,
  clock: TestClock,
  thresholds?: SensorThresholds,
  batch?: Partial<IngestBatchOptions>,
): Promise<IngestHarness> {
  const log = silentLogger();
  const service = createIngestService({
    db,
    kv,
    log,
    now: clock.now,
    batch: { maxDelayMs: 5, ...batch },
    ...(thresholds === undefined ? {} : { thresholds }),
  });
  const server: GrpcServer = createGrpcServer({ log, services: [service.binding] });
  const port = await listen(server.server, "127.0.0.1:0");
  const address = `127.0.0.1:${port}`;
  const channel = createChannel(address);
  const client = createClient(SensorIngest, channel);
  return {
    service,
    address,
    open() {
      const call = client.heartbeats();
      const responses = call.responses[Symbol.asyncIterator]();
      const ack = async () => {
        const next = await responses.next();
        if (next.done === true) throw new Error("stream ended without an ack");
        const { kind } = next.value;
        if (kind.case !== "ack") throw new Error("expected an ack");
        return kind.value.sequence;
      };
      return {
        write: (request) => call.requests.write(request),
        async send(request) {
          call.requests.write(request);
          return ack();
        },
        ack,
        end: () => call.requests.end(),
      };
    },
    openRaw() {
      const call = channel.makeBidiStreamRequest(
        "/pcapfleet.v1.SensorIngest/Heartbeats",
        (bytes: Buffer) => bytes,
        (bytes: Buffer) => fromBinary(HeartbeatsResponseSchema, bytes),
        new grpc.Metadata(),
        {},
      );
      const failed = new Promise<never>((_, reject) => call.on("error", reject));
      failed.catch(() => undefined);
      const responses = call[Symbol.asyncIterator]();
      return {
        write: (bytes) => call.write(bytes),
        async ack() {
          const next = await Promise.race([responses.next(), failed]);
          if (next.done === true) throw new Error("stream ended without an ack");
          const { kind } = next.value as ReturnType<typeof fromBinary<typeof HeartbeatsResponseSchema>>;
          if (kind.case !== "ack") throw new Error("expected an ack");
          return kind.value.sequence;
        },
        end: () => call.end(),
      };
    },
    async close() {
      channel.close();
      await server.shutdown(1_000);
      await service.drain();
    },
  };
}
