/**
 * Heartbeats run on their own timer: while the real agent process streams a 1 GB slice over
 * gRPC, its heartbeats keep their interval within ±20% (the requirement: a sensor must
 * never look offline because it is busy serving a slice).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CollectorDouble, startCollectorDouble } from "@pcapfleet/agent/testing";
import { CaptureService, createChannel, createClient } from "@pcapfleet/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../slice/agent-bin.js";
import { type AgentProcess, startAgentProcess } from "./agent-process.js";
import { type RingFile, writeRing } from "./ring.js";

const INTERVAL_S = 1;

describe("heartbeats while a 1 GB slice streams", () => {
  let work: string;
  let ring: RingFile[];
  let collector: CollectorDouble;
  let agentProcess: AgentProcess;

  beforeAll(async () => {
    await ensureBuilt();
    work = await mkdtemp(join(tmpdir(), "pf-hb-load-"));
    ring = await writeRing(join(work, "ring"), {
      files: 8,
      fileBytes: 128 * 1024 * 1024,
      traffic: { seed: 5, start: { sec: 1_700_000_000, nsec: 0 }, ratePps: 20_000 },
    });
    collector = await startCollectorDouble();
    agentProcess = await startAgentProcess(work, {
      sensor: "busy",
      stores: [join(work, "ring")],
      stateDir: join(work, "state"),
      collector: collector.address,
      heartbeatS: INTERVAL_S,
      quietMs: 100,
    });
  }, 180_000);

  afterAll(async () => {
    await agentProcess?.stop();
    await collector?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it("keeps the heartbeat interval within ±20% during the slice", async () => {
    const total = ring.reduce((sum, file) => sum + file.bytes, 0);
    expect(total).toBeGreaterThan(1_000_000_000);
    // Let indexing of the new ring finish first: the requirement is about slices.
    const deadline = Date.now() + 120_000;
    while (
      !collector.received.some((r) => r.heartbeat.status?.stores[0]?.pcap?.files === BigInt(ring.length))
    ) {
      if (Date.now() > deadline) throw new Error("ring not catalogued");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const channel = createChannel(agentProcess.address);
    const client = createClient(CaptureService, channel);
    let bytes = 0;
    let started = 0;
    let ended = 0;
    try {
      started = performance.now();
      // The whole ring three times over, back to back: a 1 GB slice alone now takes about as
      // long as two heartbeat intervals, too few gaps to judge.
      for (let pass = 0; pass < 3; pass++) {
        for await (const message of client.slice({
          taskId: `big-${pass}`,
          window: { startNs: ring[0]?.firstNs ?? 0n, endNs: (ring.at(-1)?.lastNs ?? 0n) + 1n },
        }).responses) {
          if (message.kind.case === "chunk") bytes += message.kind.value.data.length;
        }
      }
      ended = performance.now();
    } finally {
      channel.close();
    }
    expect(bytes).toBeGreaterThan(3_000_000_000);
    const during = collector.received.filter((r) => r.at >= started && r.at <= ended).map((r) => r.at);
    // A slice of a few seconds spans several intervals; each gap stays within ±20%.
    expect(during.length).toBeGreaterThanOrEqual(3);
    const gaps = during.slice(1).map((at, i) => (at - (during[i] as number)) / 1000);
    for (const gap of gaps) {
      expect(gap, `gaps ${gaps.map((g) => g.toFixed(3)).join(", ")}`).toBeGreaterThanOrEqual(
        INTERVAL_S * 0.8,
      );
      expect(gap, `gaps ${gaps.map((g) => g.toFixed(3)).join(", ")}`).toBeLessThanOrEqual(INTERVAL_S * 1.2);
    }
  }, 180_000);
});
