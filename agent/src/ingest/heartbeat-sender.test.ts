// Heartbeat timing, status snapshots, interval changes and clean stop, against a real gRPC
// server (the collector test double in collector-double.ts).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { type SensorStatus, SensorStatusSchema, TrafficDirection } from "@pcapfleet/proto";
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
let double: CollectorDouble;
let sender: HeartbeatSender | undefined;

beforeEach(async () => {
  queueDir = await mkdtemp(join(tmpdir(), "pcapfleet-hb-"));
  double = await startCollectorDouble();
});
afterEach(async () => {
  await sender?.stop();
  sender = undefined;
  await double.stop();
  await rm(queueDir, { recursive: true, force: true });
});

/** A status whose CPU figure numbers the snapshot, so tests can tell snapshots apart. */
function snapshot(number: number): SensorStatus {
  return create(SensorStatusSchema, {
    identity: { name: "s1", location: "dc1" },
    health: { cpuPercent: number },
  });
}

function gapsOf(times: readonly number[]): number[] {
  return times.slice(1).map((time, index) => time - (times[index] ?? 0));
}

/**
 * Asserts heartbeats arrive on a fixed-rate schedule of `intervalMs`: each within ±20% of an
 * interval from its slot (the schedule found as the median phase), so there is no drift
 * either. One beat may be up to half an interval off: a test machine shared with other suites
 * can stall this process for a few dozen ms, and the next tick keeps to the schedule anyway.
 */
function expectSteadyBeats(times: readonly number[], intervalMs: number): void {
  const label = `gaps ${gapsOf(times).map(Math.round).join(", ")}`;
  const phases = times.map((time, index) => time - index * intervalMs);
  const base = [...phases].sort((a, b) => a - b)[Math.floor(phases.length / 2)] ?? 0;
  const offsets = phases.map((phase) => Math.abs(phase - base));
  const off = offsets.filter((offset) => offset > intervalMs * 0.2);
  expect(off.length, label).toBeLessThanOrEqual(1);
  for (const offset of off) expect(offset, label).toBeLessThan(intervalMs / 2);
}

it("beats on its interval (±20%) with sequences from 1 and the status", async () => {
  const { log } = captureLog();
  sender = createHeartbeatSender({
    target: double.address,
    intervalS: 0.2,
    status: async () => snapshot(7),
    takeTraffic: () => [],
    queueDir,
    log,
  });
  sender.start();
  await eventually("9 heartbeats", () => double.received.length >= 9);
  const beats = double.received.slice(0, 9);
  expect(beats.map((beat) => beat.heartbeat.sequence)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n]);
  // Steady state: the first heartbeat goes out as the stream is dialled and waits for the
  // connection, and the first tick pays for first-time code paths on a busy test machine.
  expectSteadyBeats(
    beats.slice(2).map((beat) => beat.at),
    200,
  );
  expect(beats.every((beat) => beat.heartbeat.status?.health?.cpuPercent === 7)).toBe(true);
  expect(beats.every((beat) => beat.heartbeat.status?.identity?.name === "s1")).toBe(true);
  await eventually("acks", () => (sender?.stats().acked ?? 0) >= 9);
  expect(sender.stats()).toMatchObject({ connected: true, intervalS: 0.2, queuedRows: 0 });
  expect(sender.stats().lastAckAt).toBeInstanceOf(Date);
});

it("keeps its ticks while status() is slower than the interval, one call at a time", async () => {
  const { log } = captureLog();
  let calls = 0;
  let running = 0;
  let maxRunning = 0;
  sender = createHeartbeatSender({
    target: double.address,
    intervalS: 0.2,
    status: async () => {
      const number = ++calls;
      maxRunning = Math.max(maxRunning, ++running);
      await new Promise((resolve) => setTimeout(resolve, 450));
      running -= 1;
      return snapshot(number);
    },
    takeTraffic: () => [],
    queueDir,
    log,
  });
  sender.start();
  await eventually("10 heartbeats", () => double.received.length >= 10);
  const beats = double.received.slice(0, 10);
  expectSteadyBeats(
    beats.slice(2).map((beat) => beat.at),
    200,
  );
  expect(maxRunning).toBe(1);
  // Nine ticks in ~1.8 s, each snapshot 450 ms: only a few calls, never one per tick.
  expect(calls).toBeLessThanOrEqual(6);
  // Each heartbeat carries the newest finished snapshot: numbers only grow, and do grow.
  const numbers = beats.map((beat) => beat.heartbeat.status?.health?.cpuPercent ?? 0);
  expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
  expect(numbers.at(-1)).toBeGreaterThanOrEqual(3);
});

it("takes the interval an ack asks for", async () => {
  const { log, lines } = captureLog();
  sender = createHeartbeatSender({
    target: double.address,
    intervalS: 0.2,
    status: async () => snapshot(1),
    takeTraffic: () => [],
    queueDir,
    log,
  });
  sender.start();
  await eventually("3 heartbeats", () => double.received.length >= 3);
  double.ackIntervalSeconds = 1;
  const changedAt = double.received.length;
  await eventually("2 heartbeats at the new interval", () => double.received.length >= changedAt + 3, 5_000);
  // The first ack carrying the new interval is the one of heartbeat `changedAt + 1` or later.
  const after = double.received.slice(changedAt).map((beat) => beat.at);
  const gaps = gapsOf(after);
  expect(gaps.at(-1)).toBeGreaterThanOrEqual(800);
  expect(gaps.at(-1)).toBeLessThanOrEqual(1_200);
  expect(gaps.at(-2)).toBeGreaterThanOrEqual(800);
  expect(gaps.at(-2)).toBeLessThanOrEqual(1_200);
  expect(sender.stats().intervalS).toBe(1);
  expect(lines.some((line) => line["msg"] === "collector changed the heartbeat interval")).toBe(true);
});

it("stop() sends the last rows with a last heartbeat, gets its ack and closes the stream", async () => {
  const { log } = captureLog();
  let minute = 0;
  const taken: TrafficRow[] = [];
  const takeTraffic = (): TrafficRow[] => {
    const rows: TrafficRow[] = [
      {
        minuteStartNs: BigInt(minute) * 60_000_000_000n,
        prefix: "10.0.0.0/24",
        direction: "src",
        bytes: 100,
        packets: 1,
      },
      {
        minuteStartNs: BigInt(minute) * 60_000_000_000n,
        prefix: "10.0.1.0/24",
        direction: "dst",
        bytes: 200,
        packets: 2,
      },
    ];
    minute += 1;
    taken.push(...rows);
    return rows;
  };
  sender = createHeartbeatSender({
    target: double.address,
    intervalS: 0.2,
    status: async () => snapshot(1),
    takeTraffic,
    queueDir,
    log,
  });
  sender.start();
  await eventually("connected", () => sender?.stats().connected === true);
  const started = performance.now();
  await sender.stop();
  expect(performance.now() - started).toBeLessThan(1_500);
  const received = double.received.flatMap((beat) => beat.heartbeat.traffic.map(rowKey));
  expect(received).toEqual(
    taken.map((row) =>
      rowKey({ ...row, direction: row.direction === "src" ? TrafficDirection.SRC : TrafficDirection.DST }),
    ),
  );
  expect(sender.stats()).toMatchObject({ connected: false, queuedRows: 0 });
  expect(sender.stats().acked).toBe(sender.stats().sent);
  await eventually("stream closed on the collector", () => double.streamsEnded === 1);
  const queue = await openTrafficQueue({ dir: queueDir, maxBytes: 1 << 20, log });
  expect(queue.queuedRows()).toBe(0);
  await queue.close();
});

it("rejects an interval that is not positive", () => {
  const { log } = captureLog();
  const make = (intervalS: number) => () =>
    createHeartbeatSender({
      target: double.address,
      intervalS,
      status: async () => snapshot(1),
      takeTraffic: () => [],
      queueDir,
      log,
    });
  expect(make(0)).toThrow(expect.objectContaining({ code: "invalid_argument" }));
  expect(make(Number.NaN)).toThrow(expect.objectContaining({ code: "invalid_argument" }));
});
