/**
 * `syncReads`: synchronous reads, and with them the candidate fast path for classic pcap files
 * (CandidateReads), must give byte for byte the slices the thread-pool reads give, with and
 * without indexes, in every classic variant; including records longer than the read-ahead,
 * batches larger than the batch buffer, the unindexed tail of a grown file, and files open at
 * once that hand their batch buffers on (BatchBuffers).
 */
import { createHash } from "node:crypto";
import { appendFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ClassicVariant, classicFixture, type FixturePacket } from "../format/fixtures.js";
import { MemorySink } from "../format/sink.js";
import { buildEthernet, buildIpv4, buildUdp } from "../synth/index.js";
import { BATCH_BYTES } from "./candidate-reads.js";
import { type CaptureFile, scanStores } from "./catalogue.js";
import { indexStores } from "./index-store.js";
import { suiteDir, traffic } from "./query.test-support.js";
import { READ_AHEAD } from "./read-source.js";
import { type SliceOptions, sliceStore } from "./slice.js";
import type { Instant } from "./time.js";

const START = 1_700_000_000;
const JUMBO_HOST = "198.51.100.7";
const dir = suiteDir("pcapfleet-sync-reads-");

/** The IPv4 source address of the first IPv4-over-Ethernet frame among `packets`. */
function someHost(packets: readonly FixturePacket[]): string {
  const frame = packets.find((p) => p.data.readUInt16BE(12) === 0x0800);
  if (frame === undefined) throw new Error("no IPv4 frame");
  return [...frame.data.subarray(26, 30)].join(".");
}

/** A UDP frame to or from {@link JUMBO_HOST} with `size` bytes of payload. */
function jumbo(size: number, i: number): Buffer {
  const src = i % 2 === 0 ? JUMBO_HOST : "198.51.100.99";
  const dst = i % 2 === 0 ? "198.51.100.99" : JUMBO_HOST;
  const udp = buildUdp({
    src,
    dst,
    srcPort: 40_000 + (i % 7),
    dstPort: 9000,
    payload: Buffer.alloc(size, i),
  });
  return buildEthernet({
    src: "02:00:00:00:0a:01",
    dst: "02:00:00:00:0a:02",
    payload: buildIpv4({ src, dst, protocol: 17, payload: udp }),
  });
}

async function slice(files: CaptureFile[], options: Omit<SliceOptions, "files" | "output">): Promise<Buffer> {
  const sink = new MemorySink();
  await sliceStore({ files, output: sink, ...options });
  return sink.toBuffer();
}

/** A short digest of a capture (deep equality of megabyte Buffers is slow in vitest). */
function digest(bytes: Buffer): string {
  return `${bytes.length} ${createHash("sha1").update(bytes).digest("hex")}`;
}

describe("syncReads", () => {
  it("slices as the thread-pool reads do, with and without indexes, in every classic variant", async () => {
    const store = join(dir.path, "variants");
    const state = join(dir.path, "variants-state");
    await mkdir(store);
    const variants: ClassicVariant[] = ["usec-le", "usec-be", "nsec-le", "nsec-be"];
    const all: FixturePacket[] = [];
    for (const [i, variant] of variants.entries()) {
      const packets = traffic(i + 1, 1500, START + i * 10);
      all.push(...packets);
      await writeFile(join(store, `ring-${i}.pcap`), classicFixture(packets, { variant }));
    }
    // The last file grows after indexing: its tail is scanned, not indexed.
    const catalogue = await scanStores([store]);
    await indexStores({ files: catalogue.files, stateDir: state });
    const more = classicFixture(traffic(9, 200, START + 40), { variant: "nsec-be" }).subarray(24);
    await appendFile(join(store, "ring-3.pcap"), more);
    const { files } = await scanStores([store]);
    const host = someHost(all);
    const windows: { from?: Instant; to?: Instant }[] = [
      {},
      { from: { sec: START + 5, nsec: 500_000_000 }, to: { sec: START + 32, nsec: 0 } },
    ];
    for (const filter of [
      "",
      "tcp",
      `host ${host}`,
      `host ${host} and tcp`,
      "udp port 53",
      `host ${host} or port 443`,
    ]) {
      for (const window of windows) {
        const label = `${filter} ${JSON.stringify(window)}`;
        const bytes = await slice(files, { filter, ...window });
        expect(bytes.length, label).toBeGreaterThan(24);
        const reference = digest(bytes);
        expect(digest(await slice(files, { filter, ...window, stateDir: state })), label).toBe(reference);
        const synchronous = await slice(files, { filter, ...window, stateDir: state, syncReads: true });
        expect(digest(synchronous), label).toBe(reference);
        expect(digest(await slice(files, { filter, ...window, syncReads: true })), label).toBe(reference);
      }
    }
  });

  it("reads records longer than the read-ahead, and more candidates than a batch holds", async () => {
    const store = join(dir.path, "jumbo");
    const state = join(dir.path, "jumbo-state");
    await mkdir(store);
    // Jumbo frames of the host between ordinary traffic: 300 × ~8 KB, several batches' worth, and
    // a tenth of the packets, so the index lists them (a key in over 1/8 of them would be dense).
    const packets = traffic(5, 3000, START);
    const mixed: FixturePacket[] = packets.map((p, i) =>
      i % 10 === 0 ? { data: jumbo(READ_AHEAD * 5 + (i % 13), i), tsSec: p.tsSec, tsNsec: p.tsNsec } : p,
    );
    await writeFile(join(store, "ring.pcap"), classicFixture(mixed, { variant: "usec-le" }));
    const { files } = await scanStores([store]);
    await indexStores({ files, stateDir: state });
    const filter = `host ${JUMBO_HOST}`;
    const reference = await slice(files, { filter });
    expect(reference.length).toBeGreaterThan(BATCH_BYTES * 2);
    expect(digest(await slice(files, { filter, stateDir: state, syncReads: true }))).toBe(digest(reference));
    // Sparse candidates (each its own read) and a window cutting through them.
    const window = { from: { sec: START + 1, nsec: 0 }, to: { sec: START + 4, nsec: 0 } };
    const sparse = `host ${JUMBO_HOST} and udp src port 40003`;
    const expected = await slice(files, { filter: sparse, ...window });
    expect(expected.length).toBeGreaterThan(24);
    expect(digest(await slice(files, { filter: sparse, ...window, stateDir: state, syncReads: true }))).toBe(
      digest(expected),
    );
  });

  it("reuses a finished file's batch buffer while other files are still being merged", async () => {
    const store = join(dir.path, "overlap");
    const state = join(dir.path, "overlap-state");
    await mkdir(store);
    // A long file, a short one inside it that ends first, and one starting after the short one
    // ended while the long one is still open: the third takes the buffer the second gave back.
    const specs: [string, number, number, number][] = [
      ["a-long.pcap", 11, 4000, START],
      ["b-short.pcap", 12, 600, START + 2],
      ["c-later.pcap", 13, 1200, START + 8],
    ];
    const all: FixturePacket[] = [];
    for (const [name, seed, count, sec] of specs) {
      const packets = traffic(seed, count, sec);
      all.push(...packets);
      await writeFile(join(store, name), classicFixture(packets, { variant: "usec-le" }));
    }
    const { files } = await scanStores([store]);
    await indexStores({ files, stateDir: state });
    const host = someHost(all);
    for (const filter of [`host ${host}`, "udp", `host ${host} or port 443`]) {
      const reference = await slice(files, { filter });
      expect(reference.length, filter).toBeGreaterThan(24);
      const synchronous = await slice(files, { filter, stateDir: state, syncReads: true });
      expect(digest(synchronous), filter).toBe(digest(reference));
    }
  });
});
