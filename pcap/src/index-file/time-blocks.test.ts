/**
 * The time index on captures whose timestamps are only roughly ordered: every packet inside a
 * window must lie in a returned byte range, ranges are in order, coalesced and within the
 * indexed extent, and a narrow window stays narrow.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { classicFixture, type FixturePacket, pcapngFixture } from "../format/index.js";
import { Prng } from "../synth/index.js";
import { compareTime, LinkType } from "../types.js";
import { buildIndex } from "./build.js";
import type { CaptureIndex } from "./capture-index.js";
import { type CorpusRecord, readRecords, trafficPackets } from "./corpus.test-support.js";
import { BlockBuilder, type ByteRange } from "./time-blocks.js";

const dir = mkdtempSync(join(tmpdir(), "pcapfleet-index-blocks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BASE = 1_700_000_000;

/** Traffic at 1 ms spacing with ±40 ms jitter and 2% outliers 30 s early or late. */
function jittered(count: number, seed: number): FixturePacket[] {
  const rng = new Prng(seed);
  return trafficPackets({ seed, packets: count }).map((p, i) => {
    let ns = i * 1_000_000 + rng.range(-40_000_000, 40_000_000);
    if (rng.chance(0.02)) ns += rng.chance(0.5) ? -30e9 : 30e9;
    const [tsSec, tsNsec] = at(ns);
    return { ...p, tsSec, tsNsec };
  });
}

/** Seconds and nanoseconds of `ns` nanoseconds after BASE (negative allowed). */
function at(ns: number): [number, number] {
  const sec = Math.floor(ns / 1e9);
  return [BASE + sec, ns - sec * 1e9];
}

function covered(ranges: readonly ByteRange[], offset: number): boolean {
  return ranges.some((r) => offset >= r.start && offset < r.end);
}

/** Checks the window [from, to) (ns after BASE) against brute force; returns the bytes covered. */
function checkWindow(
  index: CaptureIndex,
  records: readonly CorpusRecord[],
  from: number,
  to: number,
): number {
  const [fromSec, fromNsec] = at(from);
  const [toSec, toNsec] = at(to);
  const ranges = index.blocksInWindow(fromSec, fromNsec, toSec, toNsec);
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i] as ByteRange;
    expect(r.start).toBeLessThan(r.end);
    expect(r.start).toBeGreaterThanOrEqual(index.header.dataStart);
    expect(r.end).toBeLessThanOrEqual(index.indexedEnd);
    if (i > 0) expect(r.start).toBeGreaterThan((ranges[i - 1] as ByteRange).end); // coalesced, ordered
  }
  for (const rec of records) {
    const inside =
      compareTime(rec.tsSec, rec.tsNsec, fromSec, fromNsec) >= 0 &&
      compareTime(rec.tsSec, rec.tsNsec, toSec, toNsec) < 0;
    if (inside && !covered(ranges, rec.offset))
      throw new Error(`record at ${rec.offset} in [${from}, ${to}) not covered`);
  }
  return ranges.reduce((n, r) => n + r.end - r.start, 0);
}

describe("blocksInWindow", () => {
  const path = join(dir, "jittered.pcap");
  writeFileSync(path, classicFixture(jittered(3000, 5), { variant: "nsec-le" }));
  const ready = Promise.all([readRecords(path), buildIndex(path, { blockPackets: 16 })]);

  it("covers every packet of random windows despite out-of-order timestamps", async () => {
    const [records, index] = await ready;
    const rng = new Prng(9);
    for (let i = 0; i < 300; i++) {
      const from = rng.range(-35_000, 35_000) * 1e6 + rng.int(1e6);
      checkWindow(index, records, from, from + rng.range(1, 4000) * 1e6);
    }
  });

  it("keeps a narrow window narrow and a wide one whole", async () => {
    const [records, index] = await ready;
    const total = index.indexedEnd - index.header.dataStart;
    const narrow = checkWindow(index, records, 1_500e6, 1_510e6);
    expect(narrow).toBeGreaterThan(0);
    // Outliers widen a few blocks; the rest of the file is skipped.
    expect(narrow).toBeLessThan(total / 4);
    const all = index.blocksInWindow(0, 0, 2 ** 32, 0);
    expect(all).toEqual([{ start: index.header.dataStart, end: index.indexedEnd }]);
    expect(index.blocksInWindow(BASE + 100_000, 0, BASE + 200_000, 0)).toEqual([]);
    // [from, to): a window ending exactly at the earliest packet is empty.
    const h = index.header;
    expect(index.blocksInWindow(h.minSec - 10, 0, h.minSec, h.minNsec)).toEqual([]);
    expect(index.blocksInWindow(h.maxSec, h.maxNsec, h.maxSec + 1, 0).length).toBeGreaterThan(0);
  });

  it("records the capture's time span", async () => {
    const [records, index] = await ready;
    const sorted = [...records].sort((a, b) => compareTime(a.tsSec, a.tsNsec, b.tsSec, b.tsNsec));
    const first = sorted[0] as CorpusRecord;
    const last = sorted[sorted.length - 1] as CorpusRecord;
    expect([index.header.minSec, index.header.minNsec]).toEqual([first.tsSec, first.tsNsec]);
    expect([index.header.maxSec, index.header.maxNsec]).toEqual([last.tsSec, last.tsNsec]);
    expect(index.blocks.size).toBe(Math.ceil(records.length / 16));
  });

  it("works on pcapng with several interfaces and non-packet blocks", async () => {
    const packets = jittered(600, 8);
    const ngPath = join(dir, "multi.pcapng");
    writeFileSync(
      ngPath,
      pcapngFixture([
        {
          interfaces: [{ linkType: LinkType.ETHERNET, tsresol: 9 }, { linkType: LinkType.ETHERNET }],
          unknownBlocks: true,
          lateInterfaces: true,
          packets: packets.map((p, i) => ({ ...p, interfaceId: i % 2 })),
        },
      ]),
    );
    const [records, index] = await Promise.all([
      readRecords(ngPath),
      buildIndex(ngPath, { blockPackets: 32 }),
    ]);
    expect(index.header.format).toBe("pcapng");
    expect(index.packets).toBe(600);
    const rng = new Prng(3);
    for (let i = 0; i < 100; i++) {
      const from = rng.range(-35_000, 1_000) * 1e6;
      checkWindow(index, records, from, from + rng.range(1, 2000) * 1e6);
    }
  });
});

describe("BlockBuilder", () => {
  it("tracks min and max per block, not first and last", () => {
    const b = new BlockBuilder(3);
    const times: Array<[number, number]> = [
      [10, 5],
      [9, 999_999_999],
      [10, 7],
      [8, 0],
      [12, 1],
      [11, 0],
      [7, 3],
    ];
    times.forEach(([sec, nsec], i) => {
      b.add(100 + i * 10, sec, nsec);
    });
    const t = b.finish();
    expect(t.size).toBe(3);
    expect(Array.from(t.starts)).toEqual([100, 130, 160]);
    expect(Array.from(t.counts)).toEqual([3, 3, 1]);
    expect([t.minSec[0], t.minNsec[0], t.maxSec[0], t.maxNsec[0]]).toEqual([9, 999_999_999, 10, 7]);
    expect([t.minSec[1], t.minNsec[1], t.maxSec[1], t.maxNsec[1]]).toEqual([8, 0, 12, 1]);
    expect([t.minSec[2], t.maxSec[2]]).toEqual([7, 7]);
  });
});
