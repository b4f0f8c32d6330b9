/**
 * `pcapfleet-agent run` as a real process: heartbeats to a collector-side gRPC server (the
 * ingest test double of agent/src/ingest, a real grpc-js server), their figures checked against
 * the ring the test wrote; a slice over gRPC equal to the CLI's; summaries that survive a
 * collector outage; a clean stop on SIGTERM.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type CollectorDouble, startCollectorDouble } from "@pcapfleet/agent/testing";
import {
  CaptureService,
  createChannel,
  createClient,
  type Heartbeat,
  TrafficDirection,
} from "@pcapfleet/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agent, ensureBuilt } from "../slice/agent-bin.js";
import { type AgentProcess, startAgentProcess } from "./agent-process.js";
import { type RingFile, writeRing } from "./ring.js";

const run = promisify(execFile);
const START = 1_700_000_000;

async function until<T>(what: string, check: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** IP packets per minute and /24 source prefix, counted by tshark (independent of the agent). */
async function tsharkSourceCounts(files: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const file of files) {
    const { stdout } = await run(
      "tshark",
      ["-r", file, "-Y", "ip", "-T", "fields", "-e", "frame.time_epoch", "-e", "ip.src"],
      {
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    for (const line of stdout.split("\n")) {
      const [time, src] = line.split("\t");
      if (time === undefined || src === undefined || src === "") continue;
      const minute = Math.floor(Number(time) / 60) * 60;
      // An ICMP error carries a second IPv4 header: the outer source is the first one.
      const prefix = `${(src.split(",")[0] ?? "").split(".").slice(0, 3).join(".")}.0/24`;
      const key = `${minute}/${prefix}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** The newest total of each (minute, prefix) source row received (rows replace earlier ones). */
function receivedSourceCounts(heartbeats: readonly Heartbeat[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const heartbeat of heartbeats) {
    for (const row of heartbeat.traffic) {
      if (row.direction !== TrafficDirection.SRC || row.prefix.includes(":")) continue;
      totals.set(`${row.minuteStartNs / 1_000_000_000n}/${row.prefix}`, Number(row.packets));
    }
  }
  return totals;
}

describe("pcapfleet-agent run (real process)", () => {
  let work: string;
  let ring: RingFile[];
  let collector: CollectorDouble;
  let agentProcess: AgentProcess;
  const beats = () => collector.received.map((entry) => entry.heartbeat);

  beforeAll(async () => {
    await ensureBuilt();
    work = await mkdtemp(join(tmpdir(), "pf-daemon-"));
    // About 3 minutes of traffic in 4 files.
    ring = await writeRing(join(work, "ring"), {
      files: 4,
      fileBytes: 4 * 1024 * 1024,
      traffic: { seed: 11, start: { sec: START, nsec: 0 }, ratePps: 150, hosts: 12, subnets: 3 },
    });
    collector = await startCollectorDouble();
    agentProcess = await startAgentProcess(work, {
      sensor: "daemon-test",
      location: "lab",
      stores: [join(work, "ring")],
      stateDir: join(work, "state"),
      collector: collector.address,
      heartbeatS: 0.5,
      quietMs: 200,
    });
  }, 120_000);

  afterAll(async () => {
    await agentProcess?.stop();
    await collector?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it("sends heartbeats that describe the sensor and its ring", async () => {
    const last = ring.at(-1) as RingFile;
    const heartbeat = await until("a heartbeat with the whole ring indexed", () =>
      beats().find((beat) => beat.status?.stores[0]?.pcap?.newestPacketNs === last.lastNs),
    );
    const status = heartbeat.status;
    expect(status?.identity).toMatchObject({
      name: "daemon-test",
      location: "lab",
      agentAddress: agentProcess.address,
    });
    expect(status?.identity?.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(status?.health?.memoryTotalBytes).toBeGreaterThan(0n);
    expect(status?.health?.agentRssBytes).toBeGreaterThan(0n);
    const store = status?.stores[0];
    expect(store?.path).toBe(join(work, "ring"));
    expect(store?.pcap).toMatchObject({
      oldestPacketNs: ring[0]?.firstNs,
      newestPacketNs: last.lastNs,
      files: BigInt(ring.length),
      bytes: BigInt(ring.reduce((sum, file) => sum + file.bytes, 0)),
    });
    expect(store?.pcap?.ingestBytesPerSecond).toBeGreaterThan(0);
    expect(store?.disk?.sizeBytes).toBeGreaterThan(0n);
    expect(status?.devices.some((device) => device.name === "lo")).toBe(true);
    // Sequences count up from 1 in this process.
    await until("three heartbeats", () => (beats().length >= 3 ? true : undefined));
    const sequences = beats().map((beat) => Number(beat.sequence));
    expect(sequences.slice(0, 3), sequences.join(",")).toEqual([1, 2, 3]);
  });

  it("sends per-minute subnet summaries equal to tshark's counts", async () => {
    const expected = await tsharkSourceCounts(ring.map((file) => file.path));
    const got = await until("every minute's summary", () => {
      const totals = receivedSourceCounts(beats());
      return totals.size >= expected.size ? totals : undefined;
    });
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected));
  });

  it("serves a slice over gRPC equal to the CLI's slice", async () => {
    const filter = "tcp and not port 443";
    const channel = createChannel(agentProcess.address);
    const client = createClient(CaptureService, channel);
    const parts: Buffer[] = [];
    let done: { packets: bigint; sha256: string } | undefined;
    try {
      for await (const message of client.slice({
        taskId: "t1",
        window: { startNs: ring[1]?.firstNs ?? 0n, endNs: ring[3]?.firstNs ?? 0n },
        filter,
      }).responses) {
        if (message.kind.case === "chunk") parts.push(Buffer.from(message.kind.value.data));
        else if (message.kind.case === "done") done = message.kind.value;
      }
    } finally {
      channel.close();
    }
    const out = join(work, "cli.pcap");
    const toSec = (ns: bigint) => (Number(ns / 1000n) / 1e6).toFixed(6);
    const cli = await agent([
      "slice",
      "--store",
      join(work, "ring"),
      "--from",
      toSec(ring[1]?.firstNs ?? 0n),
      "--to",
      toSec(ring[3]?.firstNs ?? 0n),
      "--filter",
      filter,
      "-w",
      out,
    ]);
    expect(cli.code, cli.stderr).toBe(0);
    const expected = await readFile(out);
    const got = Buffer.concat(parts);
    expect(got.length).toBe(expected.length);
    expect(got.equals(expected)).toBe(true);
    expect(done?.packets).toBeGreaterThan(0n);
  });

  it("keeps every summary minute across a collector outage", async () => {
    collector.kill();
    const outageFrom = collector.received.length;
    // New traffic arrives while the collector is down: two more files, later minutes.
    const later = await writeRing(join(work, "ring"), {
      files: 2,
      fileBytes: 4 * 1024 * 1024,
      prefix: "late.pcap",
      traffic: { seed: 12, start: { sec: START + 600, nsec: 0 }, ratePps: 150, hosts: 12, subnets: 3 },
    });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(collector.received.length).toBe(outageFrom);
    await collector.restart();
    const expected = await tsharkSourceCounts(later.map((file) => file.path));
    await until("the outage's minutes", () => {
      const totals = receivedSourceCounts(beats());
      return [...expected.keys()].every((key) => totals.has(key)) ? true : undefined;
    });
    const totals = receivedSourceCounts(beats());
    for (const [key, count] of expected) expect([key, totals.get(key)]).toEqual([key, count]);
  });

  it("stops cleanly on SIGTERM, sending a last heartbeat", async () => {
    const before = collector.received.length;
    const code = await agentProcess.stop();
    expect(code).toBe(0);
    expect(collector.received.length).toBeGreaterThan(before);
    expect(agentProcess.output()).toContain('"msg":"stopped"');
  });
});
