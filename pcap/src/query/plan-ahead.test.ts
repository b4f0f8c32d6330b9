/**
 * Planning ahead (`FileOpener.planAhead`, done while libpcap compiles the filter) and concurrent
 * output writes, the two things a CLI slice (`syncReads`) does differently from the library
 * default: the slice must still equal an unindexed one, and a file changed between its plan and
 * its turn in the merge must not be read by the plan made for its old bytes.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { classicFixture, type FixturePacket } from "../format/fixtures.js";
import { MemorySink } from "../format/sink.js";
import { planFilter } from "../plan/filter-terms.js";
import { type CaptureFile, scanStores } from "./catalogue.js";
import { FileOpener } from "./file-opener.js";
import { indexStores } from "./index-store.js";
import { suiteDir, traffic } from "./query.test-support.js";
import { sliceStore } from "./slice.js";
import { outputRules, planSliceOutput } from "./slice-output.js";
import { END_OF_TIME, EPOCH } from "./time.js";

const START = 1_700_000_000;
const dir = suiteDir("pcapfleet-plan-ahead-");

/** IPv4 source addresses of the IPv4-over-Ethernet frames of `packets`, in order of appearance. */
function hosts(packets: readonly FixturePacket[]): string[] {
  const seen = new Set<string>();
  for (const p of packets)
    if (p.data.readUInt16BE(12) === 0x0800) seen.add([...p.data.subarray(26, 30)].join("."));
  return [...seen];
}

function someHost(packets: readonly FixturePacket[]): string {
  const host = hosts(packets)[0];
  if (host === undefined) throw new Error("no IPv4 frame");
  return host;
}

const digest = (bytes: Buffer) => `${bytes.length} ${createHash("sha1").update(bytes).digest("hex")}`;

/** A store of `count` consecutive files, indexed; returns its catalogue and a busy host. */
async function indexedStore(
  name: string,
  count: number,
): Promise<{ files: CaptureFile[]; state: string; host: string; last: FixturePacket[] }> {
  const store = join(dir.path, name);
  const state = join(dir.path, `${name}-state`);
  await mkdir(store);
  const all: FixturePacket[] = [];
  let last: FixturePacket[] = [];
  for (let i = 0; i < count; i++) {
    const packets = traffic(i + 1, 1500, START + i * 10);
    all.push(...packets);
    last = packets;
    await writeFile(join(store, `ring-${i}.pcap`), classicFixture(packets, { variant: "usec-le" }));
  }
  const { files } = await scanStores([store]);
  await indexStores({ files, stateDir: state });
  return { files, state, host: someHost(all), last };
}

describe("a CLI slice (syncReads)", () => {
  it("writes a file through concurrent writes equal to an unindexed slice", async () => {
    const { files, state, host } = await indexedStore("equal", 4);
    for (const filter of [`host ${host}`, `host ${host} and tcp`, "tcp", ""]) {
      const sink = new MemorySink();
      await sliceStore({ files, filter, output: sink });
      const path = join(dir.path, "equal.pcap");
      await sliceStore({ files, filter, output: path, stateDir: state, syncReads: true });
      expect(digest(await readFile(path)), filter).toBe(digest(sink.toBuffer()));
    }
  });

  for (const syncReads of [true, false]) {
    it(`does not read a file rewritten after it was planned by the old plan (syncReads ${syncReads})`, async () => {
      const { files, state, last } = await indexedStore(`changed-${syncReads}`, 2);
      // The ring writer reuses the name: same inode, other packets, another size. The filter's
      // host is in both versions, so the old plan has candidates at offsets that mean nothing now.
      const replacement = traffic(252, 900, START + 10);
      const before = new Set(hosts(last));
      const host = hosts(replacement).find((h) => before.has(h));
      if (host === undefined) throw new Error("no host in both versions of the file");
      const filter = `host ${host}`;
      const window = { from: EPOCH, to: END_OF_TIME };
      const opener = new FileOpener({
        window,
        expression: filter,
        filterPlan: planFilter(filter),
        stateDir: state,
        rules: outputRules(planSliceOutput(files)),
        syncReads,
      });
      await opener.prepareFilters(files, planSliceOutput(files));
      await opener.planAhead(files, () => true);
      const target = files[1] as CaptureFile;
      await writeFile(target.path, classicFixture(replacement, { variant: "usec-le" }));
      const fresh = (await scanStores([join(dir.path, `changed-${syncReads}`)])).files;
      const expected = new MemorySink();
      await sliceStore({ files: fresh.filter((f) => f.path === target.path), filter, output: expected });
      const expectedPackets = countRecords(expected.toBuffer());
      const opened = await opener.open(1, target);
      let packets = 0;
      const source = opened.source;
      if (source !== null) {
        while (await source.refill()) packets += source.count;
        await source.close();
      }
      expect(opened.skip).toBeNull();
      expect(packets).toBe(expectedPackets);
      expect(expectedPackets).toBeGreaterThan(0);
    });
  }
});

/** Records of a little-endian classic pcap. */
function countRecords(bytes: Buffer): number {
  let n = 0;
  for (let at = 24; at + 16 <= bytes.length; at += 16 + bytes.readUInt32LE(at + 8)) n++;
  return n;
}
