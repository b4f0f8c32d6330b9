import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GeneratedPacket, LinkType } from "@pcapfleet/pcap";
import { afterAll, describe, expect, it } from "vitest";
import { MINUTES_DIR, minuteFileName } from "./minute-files.js";
import {
  collectingLogger,
  feed,
  packets,
  replaceRows,
  rowKey,
  type SummaryTotals,
  tsharkTotals,
  writeCapture,
} from "./ring.test-support.js";
import { SubnetSummarizer } from "./subnet-summary.js";
import { SummaryWatermarks } from "./summary-watermarks.js";

const dir = mkdtempSync(join(tmpdir(), "pcapfleet-history-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A minute boundary: 1_700_000_040 = 28_333_334 minutes. */
const M0 = 28_333_334;
const at = (minute: number, sec: number) => ({ sec: minute * 60 + sec, nsec: 0 });
const sorted = (totals: SummaryTotals) => new Map([...totals].sort());
const minutesOf = (rows: readonly { minuteStartNs: bigint }[]) =>
  [...new Set(rows.map((r) => Number(r.minuteStartNs / 60_000_000_000n)))].sort((a, b) => a - b);

async function capture(name: string, list: readonly GeneratedPacket[]): Promise<string> {
  const path = join(dir, name);
  await writeCapture(path, LinkType.ETHERNET, list);
  return path;
}

/** Four minutes of traffic from M0, and late traffic inside minute M0 + 1. */
async function earlyAndLate(): Promise<{ early: string; late: string }> {
  const early = await capture(
    "early.pcap",
    packets({ seed: 61, ratePps: 10, durationS: 239, start: at(M0, 0) }),
  );
  const late = await capture(
    "late.pcap",
    packets({ seed: 62, ratePps: 5, durationS: 30, start: at(M0 + 1, 15) }),
  );
  return { early, late };
}

describe("summary totals and their history", () => {
  it("re-emits the full totals of just the keys a late record touched", async () => {
    const { early, late } = await earlyAndLate();
    const s = new SubnetSummarizer(24, 64);
    await feed(early, s);
    const first = s.take(Number.POSITIVE_INFINITY);
    expect(sorted(replaceRows(new Map(), first))).toEqual(sorted(await tsharkTotals([early])));

    await feed(late, s);
    const again = s.take(Number.POSITIVE_INFINITY);
    const lateOnly = await tsharkTotals([late]);
    const all = await tsharkTotals([early, late]);
    // Exactly the keys the late file touched, each with its full total (not the late part).
    expect(new Set(again.map(rowKey))).toEqual(new Set(lateOnly.keys()));
    for (const row of again) expect([row.bytes, row.packets]).toEqual(all.get(rowKey(row)));
    // Some keys had rows already: a delta there would be wrong under REPLACE.
    const before = new Set(first.map(rowKey));
    expect(again.some((row) => before.has(rowKey(row)))).toBe(true);
    expect(sorted(replaceRows(replaceRows(new Map(), first), again))).toEqual(sorted(all));
    expect(s.take(Number.POSITIVE_INFINITY)).toEqual([]);
  });

  it("forgets the oldest emitted minutes beyond its bounds and drops late records for them", async () => {
    const six = await capture(
      "six.pcap",
      packets({ seed: 63, ratePps: 10, durationS: 359, start: at(M0, 0) }),
    );
    const s = new SubnetSummarizer(24, 64, { maxMinutes: 4 });
    await feed(six, s);
    const rows = s.take(Number.POSITIVE_INFINITY);
    expect(minutesOf(rows)).toEqual([M0, M0 + 1, M0 + 2, M0 + 3, M0 + 4, M0 + 5]);
    expect(s.heldMinuteList()).toEqual([M0 + 2, M0 + 3, M0 + 4, M0 + 5]);
    expect(s.horizon).toBe(M0 + 2);

    // Late traffic in a forgotten minute (dropped) and in a held one (re-emitted as totals).
    const lost = packets({ seed: 64, ratePps: 5, durationS: 20, start: at(M0, 10) });
    const kept = packets({ seed: 65, ratePps: 5, durationS: 20, start: at(M0 + 3, 10) });
    const late = await capture("late-six.pcap", [...lost, ...kept]);
    await feed(late, s);
    const again = s.take(Number.POSITIVE_INFINITY);
    expect(minutesOf(again)).toEqual([M0 + 3]);
    const all = await tsharkTotals([six, late]);
    for (const row of again) expect([row.bytes, row.packets]).toEqual(all.get(rowKey(row)));
    expect(lost.length).toBeGreaterThan(0);
    expect(s.lateDropped).toBe(lost.length);

    // A counter cap: just the newest minutes that fit.
    const perMinute = (m: number) =>
      rows.filter((r) => Number(r.minuteStartNs / 60_000_000_000n) === m).length;
    const capped = new SubnetSummarizer(24, 64, { maxCounters: perMinute(M0 + 4) + perMinute(M0 + 5) });
    await feed(six, capped);
    capped.take(Number.POSITIVE_INFINITY);
    expect(capped.heldMinuteList()).toEqual([M0 + 4, M0 + 5]);

    // Minutes not emitted yet are never forgotten.
    const pending = new SubnetSummarizer(24, 64, { maxMinutes: 1 });
    await feed(six, pending);
    expect(minutesOf(pending.take(M0 + 2))).toEqual([M0, M0 + 1]);
    expect(pending.heldMinuteList()).toEqual([M0 + 2, M0 + 3, M0 + 4, M0 + 5]);
    pending.take(Number.POSITIVE_INFINITY);
    expect(pending.heldMinuteList()).toEqual([M0 + 5]);
  });

  it("persists held totals, so a late record after a restart continues them", async () => {
    const { early, late } = await earlyAndLate();
    const state = mkdtempSync(join(dir, "state-"));
    const { log, lines } = collectingLogger();
    const s1 = new SubnetSummarizer(24, 64);
    const w1 = await SummaryWatermarks.load(state, log, s1);
    await feed(early, s1);
    const first = s1.take(Number.POSITIVE_INFINITY);
    await w1.save();
    const minutesDir = join(state, MINUTES_DIR);
    expect(readdirSync(minutesDir)).toHaveLength(4);

    // A stray file (a save interrupted before its manifest) is removed at load.
    writeFileSync(join(minutesDir, minuteFileName(M0, 99)), "{}");
    const s2 = new SubnetSummarizer(24, 64);
    await SummaryWatermarks.load(state, log, s2);
    expect(readdirSync(minutesDir)).toHaveLength(4);
    expect(s2.heldMinuteList()).toEqual(s1.heldMinuteList());
    expect(s2.take(Number.POSITIVE_INFINITY)).toEqual([]);
    await feed(late, s2);
    const again = s2.take(Number.POSITIVE_INFINITY);
    const all = await tsharkTotals([early, late]);
    expect(again.length).toBeGreaterThan(0);
    for (const row of again) expect([row.bytes, row.packets]).toEqual(all.get(rowKey(row)));
    expect(sorted(replaceRows(replaceRows(new Map(), first), again))).toEqual(sorted(all));

    // A damaged minute file: its late records are dropped rather than restart its totals at 0.
    const damaged = readdirSync(minutesDir).find((n) => n.startsWith(`${M0 + 1}-`)) as string;
    writeFileSync(join(minutesDir, damaged), "{");
    const s3 = new SubnetSummarizer(24, 64);
    await SummaryWatermarks.load(state, log, s3);
    expect(s3.heldMinuteList()).toEqual([M0, M0 + 2, M0 + 3]);
    expect(s3.horizon).toBe(M0 + 2);
    await feed(late, s3);
    expect(s3.take(Number.POSITIVE_INFINITY)).toEqual([]);
    expect(s3.lateDropped).toBeGreaterThan(0);
    expect(lines.some((l) => l["msg"] === "summary minute files missing or damaged")).toBe(true);

    // Other prefix lengths: the held totals are of other prefixes, and are dropped.
    const s4 = new SubnetSummarizer(16, 64);
    await SummaryWatermarks.load(state, log, s4);
    expect(s4.heldMinutes).toBe(0);
  });
});
