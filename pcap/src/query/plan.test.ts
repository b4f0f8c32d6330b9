import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classicFixture, type FixturePacket } from "../format/fixtures.js";
import { buildIndex } from "../index-file/build.js";
import type { CaptureIndex } from "../index-file/capture-index.js";
import { planFilter } from "../plan/filter-terms.js";
import { generateTraffic } from "../synth/traffic.js";
import type { CaptureFile } from "./catalogue.js";
import {
  candidateRuns,
  consideredFiles,
  mayOverlap,
  NOTHING,
  planIndexed,
  planScan,
  RangeKind,
  REORDER_SLACK_S,
  runBytes,
  type SliceWindow,
  stopInstant,
} from "./plan.js";
import { END_OF_TIME, EPOCH, type Instant } from "./time.js";

const START = 1_700_000_000;
const at = (sec: number, nsec = 0): Instant => ({ sec, nsec });
const window = (from: Instant, to: Instant): SliceWindow => ({ from, to });
const everything = window(EPOCH, END_OF_TIME);

function file(first: Instant | undefined, size = 1000, path = "/store/a.pcap"): CaptureFile {
  return {
    path,
    size,
    mtimeMs: 0,
    ino: 1n,
    dev: 1n,
    format: "pcap",
    first,
    linkTypes: [1],
    snaplen: 262_144,
    nanosecond: false,
    littleEndian: true,
  };
}

describe("unindexed files", () => {
  it("may overlap unless the first packet is the reorder slack past the window end", () => {
    const w = window(at(START), at(START + 60));
    expect(stopInstant(w)).toEqual(at(START + 60 + REORDER_SLACK_S));
    expect(mayOverlap(file(at(START - 3600)), w)).toBe(true);
    expect(mayOverlap(file(at(START + 69, 999_999_999)), w)).toBe(true);
    expect(mayOverlap(file(at(START + 70)), w)).toBe(false);
    expect(mayOverlap(file(undefined), w)).toBe(true);
    expect(consideredFiles([file(at(START)), file(at(START + 80)), file(undefined)], w)).toHaveLength(2);
  });

  it("are scanned from the first record, with the early stop", () => {
    expect(planScan(file(at(START), 5000), everything)).toEqual({
      ranges: [{ start: -1, end: Number.POSITIVE_INFINITY, kind: RangeKind.Scan }],
      candidates: null,
      bytes: 5000,
      indexed: false,
    });
    expect(planScan(file(at(START + 100)), window(at(START), at(START + 1)))).toBe(NOTHING);
  });
});

describe("candidateRuns", () => {
  it("keeps the offsets inside the blocks and joins those closer than the gap", () => {
    const blocks = [
      { start: 100, end: 200 },
      { start: 300, end: 1000 },
    ];
    const offsets = Float64Array.of(50, 100, 150, 250, 300, 310, 500, 990, 1000, 2000);
    const runs = candidateRuns(blocks, offsets, 100);
    expect([...runs.offsets]).toEqual([100, 150, 300, 310, 500, 990]);
    expect(runs.ranges).toEqual([
      { start: 100, end: 151 },
      { start: 300, end: 311 },
      { start: 500, end: 501 },
      { start: 990, end: 991 },
    ]);
    expect(candidateRuns(blocks, offsets, 10_000).ranges).toEqual([{ start: 100, end: 991 }]);
    expect(candidateRuns([], offsets, 100)).toEqual({ ranges: [], offsets: new Float64Array(0) });
  });
});

describe("runBytes", () => {
  it("sums the spans of the runs candidateRuns forms", () => {
    const offsets = Float64Array.of(100, 150, 300, 310, 500, 990, 5000);
    const all = [{ start: 0, end: 10_000 }];
    for (const gap of [0, 10, 100, 200, 10_000]) {
      const spans = candidateRuns(all, offsets, gap).ranges.reduce((sum, r) => sum + r.end - r.start, 0);
      expect(runBytes(offsets, gap), `gap ${gap}`).toBe(spans);
    }
    expect(runBytes(Float64Array.of(42), 16)).toBe(1);
    expect(runBytes(new Float64Array(0), 16)).toBe(0);
  });
});

describe("indexed files", () => {
  let dir: string;
  let path: string;
  let index: CaptureIndex;
  let packets: FixturePacket[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pcapfleet-plan-"));
    path = join(dir, "ring.pcap");
    packets = [...generateTraffic({ seed: 5, packets: 3000, ratePps: 100, start: { sec: START, nsec: 0 } })];
    await writeFile(path, classicFixture(packets, { variant: "nsec-le" }));
    index = await buildIndex(path, { blockPackets: 100 });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const size = (): number => index.header.indexedEnd;

  it("read only the time blocks that overlap the window", () => {
    const all = planIndexed(index, everything, planFilter(""), size());
    expect(all.ranges).toEqual([{ start: 24, end: size(), kind: RangeKind.Blocks }]);
    const mid = packets[1500] as FixturePacket;
    const w = window(at(mid.tsSec, mid.tsNsec), at(mid.tsSec + 2));
    const some = planIndexed(index, w, planFilter(""), size());
    expect(some.ranges).toHaveLength(1);
    const range = some.ranges[0] as { start: number; end: number };
    expect(range.start).toBeGreaterThan(24);
    expect(range.end).toBeLessThan(size());
    expect(some.bytes).toBe(range.end - range.start);
    // Outside the capture's time span: nothing to read, the file is not even opened.
    expect(
      planIndexed(index, window(at(START + 3600), at(START + 7200)), planFilter(""), size()).ranges,
    ).toEqual([]);
    expect(planIndexed(index, window(at(START - 10), at(START)), planFilter(""), size()).ranges).toEqual([]);
  });

  it("read only candidate records when the index narrows the filter", () => {
    const host = "192.0.2.10";
    const plan = planIndexed(index, everything, planFilter(`host ${host} and tcp`), size());
    expect(plan.candidates).not.toBeNull();
    expect(plan.ranges.every((range) => range.kind === RangeKind.Candidates)).toBe(true);
    expect(plan.bytes).toBeLessThan(size());
    // A filter the index cannot narrow reads the blocks.
    const wide = planIndexed(index, everything, planFilter("not tcp"), size());
    expect(wide.candidates).toBeNull();
    expect(wide.ranges[0]?.kind).toBe(RangeKind.Blocks);
  });

  it("scan the part of a grown file past the indexed end, unless the index ends past the slack", () => {
    const grown = size() + 5000;
    const plan = planIndexed(index, everything, planFilter(""), grown);
    expect(plan.ranges.at(-1)).toEqual({
      start: size(),
      end: Number.POSITIVE_INFINITY,
      kind: RangeKind.Scan,
    });
    expect(plan.bytes).toBe(grown - 24);
    const early = window(at(START), at(START + 1));
    expect(
      planIndexed(index, early, planFilter(""), grown).ranges.some((r) => r.kind === RangeKind.Scan),
    ).toBe(false);
  });
});
