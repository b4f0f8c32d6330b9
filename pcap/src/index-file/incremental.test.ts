/**
 * Growing captures: an index of a prefix is still served after an append (valid up to its
 * indexed end), and extending it gives exactly the bytes a full rebuild gives, including when
 * the file ended in a partial record and when a key stops being dense.
 */
import { appendFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classicFixture, type FixturePacket, pcapngFixture } from "../format/index.js";
import { planFilter } from "../plan/filter-terms.js";
import { LinkType } from "../types.js";
import { buildIndex } from "./build.js";
import type { CaptureIndex } from "./capture-index.js";
import { ethernetCorpus, sequential } from "./corpus.test-support.js";
import { craftedFrames } from "./crafted.test-support.js";
import type { KeyFamily } from "./key-family.js";
import { loadIndex, refreshIndex, saveIndex } from "./store.js";

let root: string;
let dir: string;
let state: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "pcapfleet-index-incremental-"));
  dir = join(root, "captures");
  state = join(root, "state");
  await mkdir(dir);
});
afterAll(() => rm(root, { recursive: true, force: true }));

const packets = ethernetCorpus(1500, 31);

/**
 * The same index content: header, time blocks, every key with its count and density, and the
 * list of every sparse key. (A dense key's list is kept only while it is near the threshold,
 * so its presence may differ between an extension and a rebuild; lookups never read it.)
 */
function expectSameContent(a: CaptureIndex, b: CaptureIndex): void {
  expect(a.header).toEqual(b.header);
  expect(a.blocks).toEqual(b.blocks);
  for (const name of ["ip4", "ip6", "port", "proto", "vlan"] as const) {
    const x = a.families[name];
    const y = b.families[name];
    expect([x.keys, x.counts, x.dense], name).toEqual([y.keys, y.counts, y.dense]);
    for (let i = 0; i < x.size; i++) {
      if (x.dense[i] === 1) continue;
      const list = (f: KeyFamily) => f.postings.subarray(f.offsets[i] as number, f.offsets[i + 1] as number);
      expect(Buffer.from(list(x)).equals(Buffer.from(list(y))), `${name} key ${i}`).toBe(true);
    }
  }
}

/** Asserts that extending the saved index over the file at `path` equals a full rebuild. */
async function expectExtensionEqualsRebuild(path: string, blockPackets = 64): Promise<void> {
  const previous = await loadIndex(state, path);
  expect(previous, "the prefix index is still served after an append").toBeDefined();
  const extended = await buildIndex(path, { previous });
  const full = await buildIndex(path, { blockPackets });
  expectSameContent(extended, full);
  for (const e of ["tcp", "udp", "host 198.51.100.5", "vlan", "port 53", "ip6 net 2001:db8::/32"]) {
    expect(extended.candidates(planFilter(e)), e).toEqual(full.candidates(planFilter(e)));
  }
}

describe("incremental extension", () => {
  it("serves the prefix index after an append, and extends it to a full rebuild", async () => {
    const path = join(dir, "grow.pcap");
    const whole = classicFixture(packets, { variant: "nsec-le" });
    const prefix = classicFixture(packets.slice(0, 900), { variant: "nsec-le" });
    await writeFile(path, prefix);
    await saveIndex(state, await buildIndex(path, { blockPackets: 64 }));
    await appendFile(path, whole.subarray(prefix.length));
    const loaded = await loadIndex(state, path);
    expect(loaded?.header.size).toBe(prefix.length);
    expect(loaded?.indexedEnd).toBe(prefix.length);
    expect((await stat(path)).size).toBeGreaterThan(prefix.length);
    // Candidates of the prefix index are records of the prefix only.
    const answer = loaded?.candidates(planFilter("udp"));
    if (answer?.kind === "offsets") expect(Math.max(...answer.offsets)).toBeLessThan(prefix.length);
    await expectExtensionEqualsRebuild(path);
  });

  it("stops before a partial last record and resumes there", async () => {
    const path = join(dir, "partial.pcap");
    const whole = classicFixture(packets, { variant: "nsec-le" });
    const prefix = classicFixture(packets.slice(0, 700), { variant: "nsec-le" });
    await writeFile(path, whole.subarray(0, prefix.length + 30));
    const first = await buildIndex(path, { blockPackets: 64 });
    expect(first.packets).toBe(700);
    expect(first.indexedEnd).toBe(prefix.length);
    expect(first.header.size).toBe(prefix.length + 30);
    await saveIndex(state, first);
    await appendFile(path, whole.subarray(prefix.length + 30));
    await expectExtensionEqualsRebuild(path);
  });

  it("rebuilds when a key that was dense becomes sparse", async () => {
    const path = join(dir, "dense.pcap");
    const frame = craftedFrames()[8] as Buffer; // IPv4 with options, 198.51.100.5
    const head = sequential(Array.from({ length: 200 }, () => frame));
    const tail: FixturePacket[] = packets.map((p, i) => ({ ...p, tsSec: 1_800_000_000 + i }));
    const prefix = classicFixture(head, { variant: "nsec-le" });
    const whole = classicFixture([...head, ...tail], { variant: "nsec-le" });
    await writeFile(path, prefix);
    const first = await buildIndex(path, { blockPackets: 64 });
    expect(first.candidates(planFilter("host 198.51.100.5")).kind).toBe("all");
    await saveIndex(state, first);
    await appendFile(path, whole.subarray(prefix.length));
    await expectExtensionEqualsRebuild(path);
    const now = await buildIndex(path);
    const answer = now.candidates(planFilter("host 198.51.100.5"));
    expect(answer.kind === "offsets" && answer.offsets.length >= 200).toBe(true);
  });

  it("extends pcapng files, whose later interfaces come after the indexed end", async () => {
    const path = join(dir, "grow.pcapng");
    const ng = (n: number) =>
      pcapngFixture([
        {
          interfaces: [{ linkType: LinkType.ETHERNET, tsresol: 9 }, { linkType: LinkType.ETHERNET }],
          lateInterfaces: true,
          packets: packets.slice(0, n).map((p, i) => ({ ...p, interfaceId: i < 500 ? 0 : i % 2 })),
        },
      ]);
    const prefix = ng(400);
    const whole = ng(1200);
    expect(whole.subarray(0, prefix.length).equals(prefix)).toBe(true);
    await writeFile(path, prefix);
    await saveIndex(state, await buildIndex(path, { blockPackets: 64 }));
    await appendFile(path, whole.subarray(prefix.length));
    await expectExtensionEqualsRebuild(path);
  });

  it("refreshIndex builds, reuses, then extends and saves", async () => {
    const path = join(dir, "refresh.pcap");
    const whole = classicFixture(packets, { variant: "nsec-le" });
    const prefix = classicFixture(packets.slice(0, 500), { variant: "nsec-le" });
    await writeFile(path, prefix);
    const built = await refreshIndex(state, path);
    expect(built.packets).toBe(500);
    const again = await refreshIndex(state, path);
    expectSameContent(again, built);
    await appendFile(path, whole.subarray(prefix.length));
    const extended = await refreshIndex(state, path);
    expect(extended.packets).toBe(packets.length);
    const reloaded = await loadIndex(state, path);
    expect(reloaded?.header.size).toBe(whole.length);
    expect(reloaded?.encode().equals(extended.encode())).toBe(true);
    if (reloaded !== undefined) expectSameContent(reloaded, await buildIndex(path));
  });

  it("ignores a previous index of another file", async () => {
    const a = join(dir, "a.pcap");
    const b = join(dir, "b.pcap");
    await writeFile(a, classicFixture(packets.slice(0, 300), { variant: "nsec-le" }));
    await writeFile(b, classicFixture(packets.slice(300, 700), { variant: "nsec-le" }));
    const indexA = await buildIndex(a);
    const indexB = await buildIndex(b, { previous: indexA });
    expect(indexB.packets).toBe(400);
    expectSameContent(indexB, await buildIndex(b));
    expect((await readFile(b)).length).toBe(indexB.header.size);
  });
});
