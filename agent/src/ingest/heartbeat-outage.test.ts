// Collector outages against real gRPC: backoff while nothing answers, no summary lost or
// duplicated across a collector restart, and the on-disk queue replayed by a new sender.
import { appendFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { SensorStatusSchema, TrafficDirection } from "@pcapfleet/proto";
import { afterEach, beforeEach, expect, it } from "vitest";
import {
  type CollectorDouble,
  captureLog,
  eventually,
  rowKey,
  startCollectorDouble,
} from "./collector-double.js";
import { createHeartbeatSender, type HeartbeatSender } from "./heartbeat-sender.js";
import { openTrafficQueue } from "./traffic-queue.js";
import type { TrafficRow } from "./traffic-row.js";

let queueDir: string;
let double: CollectorDouble | undefined;
let senders: HeartbeatSender[] = [];

beforeEach(async () => {
  queueDir = await mkdtemp(join(tmpdir(), "pcapfleet-outage-"));
});
afterEach(async () => {
  await Promise.all(senders.map((sender) => sender.stop()));
  senders = [];
  await double?.stop();
  double = undefined;
  await rm(queueDir, { recursive: true, force: true });
});

const status = async () => create(SensorStatusSchema, { identity: { name: "s1" } });

/** A catalogue stand-in: each call completes one more minute of three prefixes. */
function trafficSource(): { take: () => TrafficRow[]; keys: () => string[] } {
  const taken: TrafficRow[] = [];
  let minute = 0;
  return {
    take() {
      const start = BigInt(1_700_000_000 + minute * 60) * 1_000_000_000n;
      minute += 1;
      const rows: TrafficRow[] = ["10.0.0.0/24", "10.0.1.0/24", "fd00::/64"].map((prefix, index) => ({
        minuteStartNs: start,
        prefix,
        direction: index === 1 ? "dst" : "src",
        bytes: 1000 + index,
        packets: 1 + index,
      }));
      taken.push(...rows);
      return rows;
    },
    keys: () =>
      taken.map((row) =>
        rowKey({ ...row, direction: row.direction === "src" ? TrafficDirection.SRC : TrafficDirection.DST }),
      ),
  };
}

/** Every row key received, with the instance of the double that received it. */
function receivedRows(collector: CollectorDouble): { key: string; instance: number }[] {
  return collector.received.flatMap((beat) =>
    beat.heartbeat.traffic.map((row) => ({ key: rowKey(row), instance: beat.instance })),
  );
}

/** A TCP listener that accepts and drops every connection: a collector that is down. */
async function deadCollector(): Promise<{ server: Server; port: number; connections: number[] }> {
  const connections: number[] = [];
  const server = createServer((socket) => {
    connections.push(performance.now());
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { server, port: address.port, connections };
}

it("redials with growing, jittered backoff while the collector is down, then delivers", async () => {
  const dead = await deadCollector();
  const { log, lines } = captureLog();
  const traffic = trafficSource();
  const sender = createHeartbeatSender({
    target: `127.0.0.1:${dead.port}`,
    intervalS: 0.2,
    status,
    takeTraffic: traffic.take,
    queueDir,
    log,
    backoff: { initialMs: 100, maxMs: 800 },
  });
  senders.push(sender);
  sender.start();
  await eventually("6 attempts", () => dead.connections.length >= 6, 10_000);
  const steps = lines
    .filter((line) => line["msg"] === "heartbeat stream down; redialling after backoff")
    .slice(0, 5)
    .map((line) => ({ capMs: Number(line["capMs"]), delayMs: Number(line["delayMs"]) }));
  expect(steps.map((step) => step.capMs)).toEqual([100, 200, 400, 800, 800]);
  const gaps = dead.connections.slice(0, 6).map((at, index, all) => at - (all[index - 1] ?? at));
  steps.forEach((step, index) => {
    expect(step.delayMs).toBeLessThan(step.capMs);
    // The real gap between two dials is the drawn delay plus the failed call's own time.
    const gap = gaps[index + 1] ?? 0;
    expect(gap).toBeGreaterThanOrEqual(step.delayMs - 5);
    expect(gap).toBeLessThanOrEqual(step.delayMs + 250);
  });
  expect(new Set(steps.map((step) => Math.round((step.delayMs / step.capMs) * 100))).size).toBeGreaterThan(1);
  expect(sender.stats()).toMatchObject({ connected: false, acked: 0 });
  expect(sender.stats().queuedRows).toBeGreaterThan(0);

  // The collector comes up on that port: the queued minutes arrive, each once.
  await new Promise((resolve) => dead.server.close(resolve));
  double = await startCollectorDouble(dead.port);
  await eventually("connected", () => sender.stats().connected, 5_000);
  await sender.stop();
  const received = receivedRows(double).map((row) => row.key);
  expect(received).toEqual(traffic.keys());
});

it("loses and duplicates no summary across a collector kill and restart", async () => {
  const { log } = captureLog();
  const traffic = trafficSource();
  const collector = await startCollectorDouble();
  double = collector;
  const sender = createHeartbeatSender({
    target: collector.address,
    intervalS: 0.1,
    status,
    takeTraffic: traffic.take,
    queueDir,
    log,
    backoff: { initialMs: 50, maxMs: 200 },
    maxRowsPerHeartbeat: 5,
  });
  senders.push(sender);
  sender.start();
  await eventually("3 heartbeats", () => collector.received.length >= 3);
  collector.kill();
  await eventually("disconnected", () => !sender.stats().connected);
  const queuedAtKill = sender.stats().queuedRows;
  await eventually("rows queued during the outage", () => sender.stats().queuedRows >= queuedAtKill + 15);
  await collector.restart();
  await eventually("queue drained", () => sender.stats().connected && sender.stats().queuedRows <= 3, 10_000);
  await sender.stop();

  const received = receivedRows(collector);
  // The last heartbeat carries one batch; rows beyond it stay queued for the next start.
  const queue = await openTrafficQueue({ dir: queueDir, maxBytes: 1 << 20, log });
  const left = (await queue.readBatch(0, 1_000)).map((row) =>
    rowKey({ ...row, direction: row.direction === "src" ? TrafficDirection.SRC : TrafficDirection.DST }),
  );
  await queue.close();
  expect(new Set([...received.map((row) => row.key), ...left])).toEqual(new Set(traffic.keys()));
  expect(left.filter((key) => received.some((row) => row.key === key))).toEqual([]);
  // At-least-once: a row may come twice only if it was in flight when the collector died;
  // nothing acked is ever sent again.
  const firstSeen = new Map<string, number>();
  for (const row of received) {
    const instance = firstSeen.get(row.key);
    if (instance === undefined) firstSeen.set(row.key, row.instance);
    else
      expect({ key: row.key, firstInstance: instance, againOn: row.instance }).toMatchObject({
        firstInstance: 0,
        againOn: 1,
      });
  }
  expect(received.length - firstSeen.size).toBeLessThanOrEqual(5);
  // The backlog went out in batches of at most 5 rows, with the latest status.
  const afterRestart = collector.received.filter((beat) => beat.instance === 1);
  expect(Math.max(...afterRestart.map((beat) => beat.heartbeat.traffic.length))).toBe(5);
  expect(afterRestart[0]?.heartbeat.status?.identity?.name).toBe("s1");
});

it("replays the unacked rows of a stopped sender from its queue dir, skipping a torn tail", async () => {
  const dead = await deadCollector();
  const traffic = trafficSource();
  const first = createHeartbeatSender({
    target: `127.0.0.1:${dead.port}`,
    intervalS: 0.1,
    status,
    takeTraffic: traffic.take,
    queueDir,
    log: captureLog().log,
    backoff: { initialMs: 1_000, maxMs: 1_000 },
  });
  first.start();
  await eventually("rows queued", () => first.stats().queuedRows >= 9);
  await first.stop();
  const stoppedWith = first.stats().queuedRows;
  await new Promise((resolve) => dead.server.close(resolve));
  // A crash of some later process mid-write leaves a torn line behind.
  const segments = (await readdir(queueDir)).filter((name) => name.endsWith(".jsonl")).sort();
  await appendFile(join(queueDir, segments.at(-1) ?? "seg-0000000000000001.jsonl"), '{"i":99999,"m":"17');

  double = await startCollectorDouble();
  const { log, lines } = captureLog();
  const second = createHeartbeatSender({
    target: double.address,
    intervalS: 0.1,
    status,
    takeTraffic: () => [],
    queueDir,
    log,
  });
  senders.push(second);
  second.start();
  const collector = double;
  await eventually("replayed", () => receivedRows(collector).length >= stoppedWith);
  await eventually("acked", () => second.stats().queuedRows === 0);
  expect(receivedRows(collector).map((row) => row.key)).toEqual(traffic.keys());
  expect(lines.some((line) => line["msg"] === "heartbeat queue: corrupt lines skipped")).toBe(true);
});
