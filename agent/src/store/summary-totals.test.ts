import { join } from "node:path";
import { createPcapWriter, type GeneratedPacket, LinkType } from "@pcapfleet/pcap";
import { describe, expect, it } from "vitest";
import {
  age,
  appendPackets,
  packets,
  replaceRows,
  rowKey,
  type SummaryTotals,
  storeTestBed,
  type TestRow,
  tsharkTotals,
  waitFor,
  writeCapture,
} from "./ring.test-support.js";
import type { StoreCatalogue, SubnetTrafficRow } from "./types.js";

const bed = storeTestBed("pcapfleet-totals-");

function catalogue(quietMs = 150): StoreCatalogue {
  return bed.open({ quietMs }).c;
}

const sorted = (totals: SummaryTotals) => new Map([...totals].sort());
const same = (a: SummaryTotals, b: SummaryTotals): boolean =>
  a.size === b.size &&
  [...a].every(([k, [bytes, count]]) => b.get(k)?.[0] === bytes && b.get(k)?.[1] === count);
const minuteNs = (p: GeneratedPacket): bigint => BigInt(Math.floor(p.tsSec / 60) * 60) * 1_000_000_000n;

/** Takes rows into `rows` until, applied as the collector does (REPLACE), they equal `expected`. */
async function takeUntil(
  c: StoreCatalogue,
  rows: SubnetTrafficRow[],
  base: readonly TestRow[],
  expected: SummaryTotals,
) {
  await waitFor("summary totals", () => {
    rows.push(...c.takeTraffic());
    return same(replaceRows(replaceRows(new Map(), base), rows), expected);
  });
}

describe("subnet summary rows are totals", () => {
  it("re-emits the updated totals of the keys a late file touches", async () => {
    const ring: string[] = [];
    for (let i = 0; i < 2; i++) {
      const path = join(bed.store, `ring-${i}.pcap`);
      const start = { sec: 1_700_000_010 + i * 90, nsec: 0 };
      await writeCapture(
        path,
        LinkType.ETHERNET,
        packets({ seed: 80 + i, ratePps: 20, durationS: 90, start }),
      );
      age(path);
      ring.push(path);
    }
    const c = catalogue();
    await c.start();
    const first: SubnetTrafficRow[] = [];
    await takeUntil(c, first, [], await tsharkTotals(ring));

    // A file of another writer turns up late, with packets of a minute already emitted.
    const late = join(bed.store, "late.pcap");
    const lateList = packets({
      seed: 90,
      ratePps: 10,
      durationS: 20,
      start: { sec: 1_700_000_070, nsec: 0 },
    });
    await writeCapture(late, LinkType.ETHERNET, lateList);
    age(late);
    const lateOnly = await tsharkTotals([late]);
    const all = await tsharkTotals([...ring, late]);
    const again: SubnetTrafficRow[] = [];
    await takeUntil(c, again, first, all);
    expect(sorted(replaceRows(replaceRows(new Map(), first), again))).toEqual(sorted(all));
    // Only the touched keys came again, each as its full total; some had rows before, so rows
    // that were deltas (or counted from zero) would not add up to the reference above.
    expect(new Set(again.map(rowKey))).toEqual(new Set(lateOnly.keys()));
    for (const row of again) expect([row.bytes, row.packets]).toEqual(all.get(rowKey(row)));
    const before = new Set(first.map(rowKey));
    expect(again.filter((row) => before.has(rowKey(row))).length).toBeGreaterThan(0);
  });

  it("continues a minute's totals after a restart instead of replacing them with a smaller one", async () => {
    const list = packets({ seed: 91, ratePps: 10, durationS: 150, start: { sec: 1_700_000_040, nsec: 0 } });
    // Split in the middle of the second minute: its records come partly before the restart.
    const split = list.findIndex((p) => p.tsSec >= 1_700_000_130);
    const splitMinute = minuteNs(list[split] as GeneratedPacket);
    expect(minuteNs(list[split - 1] as GeneratedPacket)).toBe(splitMinute);
    const path = join(bed.store, "live.pcap");
    const writer = await createPcapWriter(path, { linkType: LinkType.ETHERNET, nanosecond: true });
    await appendPackets(writer, list.slice(0, split));
    const c1 = catalogue(3000);
    await c1.start();
    const last = list[split - 1] as GeneratedPacket;
    const lastNs = BigInt(last.tsSec) * 1_000_000_000n + BigInt(last.tsNsec);
    await waitFor("indexed to the split", () => c1.stores()[0]?.pcap.newestPacketNs === lastNs);
    await c1.close();
    // close() hands out the open minute as its total so far.
    const first = c1.takeTraffic();
    expect(first.some((row) => row.minuteStartNs === splitMinute)).toBe(true);

    await appendPackets(writer, list.slice(split));
    await writer.close();
    age(path);
    const c2 = catalogue();
    await c2.start();
    const all = await tsharkTotals([path]);
    const again: SubnetTrafficRow[] = [];
    await takeUntil(c2, again, first, all);
    // The split minute's keys came again with the totals of both halves.
    const secondHalf = join(bed.root, "second-half.pcap");
    await writeCapture(secondHalf, LinkType.ETHERNET, list.slice(split));
    const halfOnly = await tsharkTotals([secondHalf]);
    const splitRows = again.filter((row) => row.minuteStartNs === splitMinute);
    expect(splitRows.length).toBeGreaterThan(0);
    for (const row of splitRows) expect([row.bytes, row.packets]).toEqual(all.get(rowKey(row)));
    expect(splitRows.some((row) => row.packets > (halfOnly.get(rowKey(row))?.[1] ?? 0))).toBe(true);
  });
});
