/**
 * The agent's own capture against real packets (issue #4 item 2): a veth pair into a network
 * namespace, real tcpdump, traffic sent from inside the namespace, the ring read back with the
 * engine's readers. Needs root, `ip netns` and tcpdump; elsewhere the test checks the message.
 */

import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@pcapfleet/core";
import { openCapture } from "@pcapfleet/pcap";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CaptureConfigInput, captureEntrySchema } from "../../agent/src/capture/capture-config.js";
import { createCaptureManager } from "../../agent/src/capture/capture-manager.js";
import {
  addHostLink,
  createVethNamespace,
  netnsUnavailable,
  sendDatagrams,
  uniqueId,
  type VethNamespace,
} from "./netns.js";

const TCPDUMP = "/usr/bin/tcpdump";
const log = createLogger({ name: "test", level: "silent" });
const timing = {
  backoffInitialMs: 150,
  backoffMaxMs: 600,
  statsIntervalMs: 500,
  retentionIntervalMs: 60_000,
};

/** A ring file and the UDP payloads of its packets, in file order. */
interface RingFileContent {
  readonly name: string;
  readonly size: number;
  readonly payloads: string[];
  /** Packet timestamps in seconds (float). */
  readonly times: number[];
}

/** Reads every file of a directory with the engine's reader; payloads of IPv4/UDP packets. */
async function readRing(dir: string): Promise<RingFileContent[]> {
  const files: RingFileContent[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const reader = await openCapture(path);
    const payloads: string[] = [];
    const times: number[] = [];
    try {
      for (let rec = await reader.next(); rec !== null; rec = await reader.next()) {
        const at = rec.dataOffset;
        times.push(rec.tsSec + rec.tsNsec / 1e9);
        expect(rec.caplen).toBe(rec.origLen);
        if (rec.buf.readUInt16BE(at + 12) !== 0x0800 || rec.buf[at + 23] !== 17) {
          payloads.push("<not udp>");
          continue;
        }
        const ihl = ((rec.buf[at + 14] ?? 0) & 0x0f) * 4;
        payloads.push(rec.buf.toString("latin1", at + 14 + ihl + 8, at + rec.caplen));
      }
      expect(reader.truncatedTail).toBeNull();
    } finally {
      await reader.close();
    }
    files.push({ name, size: (await stat(path)).size, payloads, times });
  }
  return files;
}

const expected = (tag: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${tag}-${i}`);

const unavailable = netnsUnavailable(TCPDUMP);
if (unavailable === undefined) {
  describe("own capture on a veth pair in a network namespace", () => {
    let veth: VethNamespace;
    let root: string;
    beforeAll(async () => {
      veth = await createVethNamespace();
      root = await mkdtemp(join(tmpdir(), "pcapfleet-capture-"));
    });
    afterAll(async () => {
      await veth?.remove();
      if (root !== undefined) await rm(root, { recursive: true, force: true });
    });
    const config = (input: Partial<CaptureConfigInput> & { dir: string }) =>
      captureEntrySchema.parse({ interface: veth.hostIf, ...input });

    it("writes exactly the filtered packets, rotating by size without losing one, and counts them", async () => {
      const dir = join(root, "size");
      const tag = `pf${uniqueId()}`;
      const manager = createCaptureManager({
        captures: [config({ dir, filter: "udp and dst port 40000", rotateBytes: 2048, filePrefix: "veth" })],
        isPinned: () => false,
        log,
        tcpdumpPath: TCPDUMP,
        timing,
      });
      await manager.start();
      expect(manager.stats()[0]).toMatchObject({ running: true, error: "" });
      expect(manager.unavailableReason()).toBeUndefined();
      expect(manager.capturingInterfaces()).toEqual([veth.hostIf]);
      await sendDatagrams(veth, { port: 40000, count: 60, tag, gapMs: 1 });
      await manager.stop();

      const files = await readRing(dir);
      expect(files.length).toBeGreaterThanOrEqual(3);
      for (const file of files) {
        expect(file.name).toMatch(/^veth-\d{8}T\d{6}Z-\d{6}\.pcap$/);
        expect(file.size).toBeLessThanOrEqual(2048);
        expect(file.payloads.length).toBeGreaterThan(0);
      }
      // Every datagram once, in order, across the file boundaries; nothing the filter excludes.
      expect(files.flatMap((file) => file.payloads)).toEqual(expected(tag, 60));
      const stats = manager.stats()[0];
      expect(stats).toMatchObject({
        interface: veth.hostIf,
        packetsReceived: 60,
        packetsDroppedKernel: 0,
        packetsWritten: 60,
        filesWritten: files.length,
        running: false,
      });
      expect(stats?.packetsDroppedInterface).toBeGreaterThanOrEqual(0);
    });

    it("rotates by time, reports live counters, and keeps packet timestamps in the file's window", async () => {
      const dir = join(root, "time");
      const tag = `pf${uniqueId()}`;
      const manager = createCaptureManager({
        captures: [config({ dir, filter: "udp dst port 40010", rotateSeconds: 0.4 })],
        isPinned: () => false,
        log,
        tcpdumpPath: TCPDUMP,
        timing,
      });
      await manager.start();
      await sendDatagrams(veth, { port: 40010, count: 30, tag, gapMs: 45 });
      // libpcap hands packets over within its 1 s block timeout; SIGUSR1 reports them live.
      const deadline = Date.now() + 5000;
      let received = 0;
      while (received < 30 && Date.now() < deadline)
        received = (await manager.refreshStats())[0]?.packetsReceived ?? 0;
      expect(received).toBe(30);
      await manager.stop();
      const files = await readRing(dir);
      expect(files.length).toBeGreaterThanOrEqual(3);
      expect(files.every((file) => file.name.startsWith(`${veth.hostIf}-`))).toBe(true);
      expect(files.flatMap((file) => file.payloads)).toEqual(expected(tag, 30));
      for (const file of files) {
        const first = file.times[0] ?? 0;
        // Rotation follows packet time: a file spans less than rotateSeconds, named by its first packet.
        expect((file.times.at(-1) ?? 0) - first).toBeLessThan(0.4);
        const stamp = new Date(Math.floor(first) * 1000).toISOString().replace(/[-:]/g, "").slice(0, 15);
        expect(file.name).toContain(`-${stamp}Z-`);
      }
    });

    it("reports a bad filter with libpcap's message, and a missing interface until it appears", async () => {
      const missing = `pfm${uniqueId()}`;
      const manager = createCaptureManager({
        captures: [
          config({ dir: join(root, "bad"), filter: "udp and port 99999" }),
          config({ dir: join(root, "late"), interface: missing }),
          config({ dir: join(root, "good"), filter: "udp dst port 40020" }),
        ],
        isPinned: () => false,
        log,
        tcpdumpPath: TCPDUMP,
        timing,
      });
      await manager.start();
      const [bad, late, good] = manager.stats();
      expect(bad).toMatchObject({ running: false });
      expect(bad?.error).toBe(
        `bad capture filter 'udp and port 99999' on ${veth.hostIf}: illegal port number 99999 > 65535`,
      );
      expect(late).toMatchObject({ running: false });
      expect(late?.error).toBe(`${missing}: No such device exists`);
      expect(good).toMatchObject({ running: true, error: "" });
      // The interface shows up: the supervisor's next restart picks it up.
      await addHostLink(veth, missing);
      const deadline = Date.now() + 5000;
      while (manager.stats()[1]?.running !== true && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(manager.stats()[1]).toMatchObject({ running: true, error: "" });
      expect(manager.stats()[0]?.error).toContain("bad capture filter");
      await manager.stop();
      expect(manager.stats().map((row) => row.running)).toEqual([false, false, false]);
    });
  });
} else {
  describe("own capture where the namespace test cannot run", () => {
    it(`reports why capture does not work (${unavailable})`, async () => {
      const manager = createCaptureManager({
        captures: [
          captureEntrySchema.parse({ interface: "lo", dir: await mkdtemp(join(tmpdir(), "pf-cap-")) }),
        ],
        isPinned: () => false,
        log,
        tcpdumpPath: TCPDUMP,
        timing,
      });
      await manager.start();
      await manager.stop();
      const reason = manager.unavailableReason() ?? manager.stats()[0]?.error ?? "";
      expect(reason).toMatch(/tcpdump \(libpcap\) not found|permission|not permitted/i);
    });
  });
}
