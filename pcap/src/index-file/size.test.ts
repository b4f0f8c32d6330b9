/**
 * The index budget on realistic traffic (at most 3% of the capture bytes), the statistics the
 * catalogue will report, and captures the extractor cannot read (unindexable, but still
 * time-indexed).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { classicFixture } from "../format/index.js";
import { planFilter } from "../plan/filter-terms.js";
import { buildIndex } from "./build.js";
import { sequential, trafficPackets } from "./corpus.test-support.js";
import { writeTrafficCapture } from "./throughput.js";

const dir = await mkdtemp(join(tmpdir(), "pcapfleet-index-size-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("index size", () => {
  it.each([
    ["default traffic mix", {}],
    ["VLAN/QinQ and IPv6 heavy", { vlanShare: 0.5, ipv6Share: 0.5, seed: 3 }],
    ["many hosts", { hosts: 2000, subnets: 50, concurrency: 200, seed: 4 }],
  ])("stays within 3%% of the capture bytes: %s", async (_, options) => {
    const path = join(dir, "traffic.pcap");
    await writeTrafficCapture(path, 24e6, options);
    const stats = (await buildIndex(path)).stats();
    expect(stats.packets).toBeGreaterThan(20_000);
    expect(stats.ratio).toBeLessThanOrEqual(0.03);
    expect(stats.indexBytes).toBeGreaterThan(0);
  });

  it("reports keys and density", async () => {
    const path = join(dir, "stats.pcap");
    await writeTrafficCapture(path, 4e6, { vlanShare: 0.3 });
    const index = await buildIndex(path);
    const stats = index.stats();
    expect(stats.indexable).toBe(true);
    expect(stats.blocks).toBe(Math.ceil(stats.packets / 256));
    expect(stats.bytesIndexed).toBe(index.indexedEnd - 24);
    expect(stats.keys.ip4.keys).toBeGreaterThan(10);
    expect(stats.keys.port.keys).toBeGreaterThan(100);
    // TCP carries most packets: its protocol key is dense and answers "scan".
    expect(stats.keys.proto.dense).toBeGreaterThan(0);
    expect(index.candidates(planFilter("tcp"))).toEqual({ kind: "all" });
  });
});

describe("captures the key extractor cannot read", () => {
  it("marks a capture of another link type unindexable but keeps its time index", async () => {
    const path = join(dir, "wifi.pcap");
    const frames = trafficPackets({ seed: 2, packets: 600 }).map((p) => p.data);
    await writeFile(path, classicFixture(sequential(frames), { variant: "nsec-le", linkType: 105 }));
    const index = await buildIndex(path, { blockPackets: 50 });
    expect(index.header.indexable).toBe(false);
    expect(index.header.linkTypes).toEqual([105]);
    expect(index.candidates(planFilter("host 10.0.0.1"))).toEqual({ kind: "all" });
    expect(index.stats().keys.ip4.keys).toBe(0);
    expect(index.blocks.size).toBe(12);
    const ranges = index.blocksInWindow(1_700_000_100, 0, 1_700_000_110, 0);
    expect(ranges).toEqual([{ start: index.blocks.starts[2], end: index.blocks.starts[3] }]);
  });

  it("indexes an empty capture", async () => {
    const path = join(dir, "empty.pcap");
    await writeFile(path, classicFixture([]));
    const index = await buildIndex(path);
    expect(index.packets).toBe(0);
    expect(index.indexedEnd).toBe(24);
    expect(index.candidates(planFilter("host 10.0.0.1"))).toEqual({
      kind: "offsets",
      offsets: new Float64Array(0),
    });
    expect(index.blocksInWindow(0, 0, 2 ** 32, 0)).toEqual([]);
  });

  it("rejects a missing capture with not_found", async () => {
    await expect(buildIndex(join(dir, "missing.pcap"))).rejects.toMatchObject({ code: "not_found" });
  });
});
