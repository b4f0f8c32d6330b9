/**
 * Test support for the heartbeat sender: a collector TEST DOUBLE (a real grpc-js server
 * serving `SensorIngest` through `createGrpcServer`) that records what it receives and acks
 * every heartbeat, and a logger whose lines tests can read. The real collector ingest lives in
 * collector/; this double only stands in for it so the agent can be tested on its own.
 */
import { Writable } from "node:stream";
import { createLogger, type Logger } from "@pcapfleet/core";
import {
  bindService,
  createGrpcServer,
  type GrpcServer,
  type Heartbeat,
  listen,
  SensorIngest,
  TrafficDirection,
} from "@pcapfleet/proto";

/** A heartbeat as the double received it. */
export interface ReceivedHeartbeat {
  /** `performance.now()` at arrival. */
  readonly at: number;
  /** Which start of the double (0, 1, ...) received it, to tell outages apart. */
  readonly instance: number;
  readonly heartbeat: Heartbeat;
}

/** A running collector double; see {@link startCollectorDouble}. */
export interface CollectorDouble {
  readonly port: number;
  readonly address: string;
  /** Every heartbeat received, over all instances, in arrival order. */
  readonly received: ReceivedHeartbeat[];
  /** Heartbeat streams that ended (by the agent or by a kill). */
  streamsEnded: number;
  /** The interval acks ask for; 0 keeps the agent's own. */
  ackIntervalSeconds: number;
  /** Kills the server at once, as a crashed collector would go. */
  kill(): void;
  /** Starts a new instance on the same port. */
  restart(): Promise<void>;
  /** Graceful stop. */
  stop(): Promise<void>;
}

/** Starts the collector double on 127.0.0.1 (`port` 0 picks a free one). */
export async function startCollectorDouble(port = 0): Promise<CollectorDouble> {
  const log = createLogger({ name: "collector-double", level: "silent" });
  let server: GrpcServer | undefined;
  let instance = -1;
  let boundPort = port;

  const double: CollectorDouble = {
    get port() {
      return boundPort;
    },
    get address() {
      return `127.0.0.1:${boundPort}`;
    },
    received: [],
    streamsEnded: 0,
    ackIntervalSeconds: 0,
    kill() {
      server?.server.forceShutdown();
      server = undefined;
    },
    async restart() {
      double.kill();
      await serve();
    },
    async stop() {
      await server?.shutdown(500);
      server = undefined;
    },
  };

  async function serve(): Promise<void> {
    instance += 1;
    const current = instance;
    server = createGrpcServer({
      log,
      services: [
        bindService(SensorIngest, {
          async *heartbeats(requests) {
            try {
              for await (const request of requests) {
                if (request.kind.case !== "heartbeat") continue;
                const heartbeat = request.kind.value;
                double.received.push({ at: performance.now(), instance: current, heartbeat });
                const ms = Date.now();
                yield {
                  kind: {
                    case: "ack",
                    value: {
                      sequence: heartbeat.sequence,
                      receivedAt: { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 },
                      heartbeatIntervalSeconds: double.ackIntervalSeconds,
                    },
                  },
                };
              }
            } finally {
              double.streamsEnded += 1;
            }
          },
        }),
      ],
    });
    boundPort = await listen(server.server, `127.0.0.1:${boundPort}`);
  }

  await serve();
  return double;
}

/** A row key as a test writes it: minute, prefix and direction identify a summary. */
export function rowKey(row: { minuteStartNs: bigint; prefix: string; direction: TrafficDirection }): string {
  return `${row.minuteStartNs}/${row.prefix}/${row.direction === TrafficDirection.SRC ? "src" : "dst"}`;
}

/** A logger at debug level whose parsed lines tests can inspect. */
export function captureLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    name: "ingest-test",
    level: "debug",
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split("\n")) {
          if (line !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
        }
        done();
      },
    }),
  });
  return { log, lines };
}

/** Polls `check` until it returns true or `ms` pass; fails with `what` on timeout. */
export async function eventually(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
