import { appendFile, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { classicFixture, samplePackets } from "../format/fixtures.js";
import { loadIndex } from "../index-file/store.js";
import { scanStores } from "./catalogue.js";
import { type IndexedFile, indexStores } from "./index-store.js";

let dir: string;
let store: string;
let state: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pcapfleet-index-store-"));
  store = join(dir, "store");
  state = join(dir, "state");
  await mkdir(store);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const capture = (startSec: number, count = 40): Buffer =>
  classicFixture(samplePackets(count, { startSec, minLength: 60, maxLength: 400 }), { variant: "nsec-le" });

describe("indexStores", () => {
  it("builds missing indexes, leaves fresh ones, extends grown files", async () => {
    await writeFile(join(store, "a.pcap"), capture(1_700_000_000));
    await writeFile(join(store, "b.pcap"), capture(1_700_000_100));
    const first = await indexStores({ files: (await scanStores([store])).files, stateDir: state });
    expect(first.files.map((f) => [f.path.slice(store.length + 1), f.status, f.packets])).toEqual([
      ["a.pcap", "built", 40],
      ["b.pcap", "built", 40],
    ]);
    expect(first.files.every((f) => f.indexBytes > 0 && f.bytesIndexed > 0)).toBe(true);
    expect(await readdir(store)).toEqual(["a.pcap", "b.pcap"]);
    expect(await readdir(state)).toHaveLength(2);

    await appendFile(join(store, "b.pcap"), capture(1_700_000_200, 10).subarray(24));
    const second = await indexStores({ files: (await scanStores([store])).files, stateDir: state });
    expect(second.files.map((f) => [f.status, f.packets])).toEqual([
      ["fresh", 40],
      ["extended", 50],
    ]);
    expect((await loadIndex(state, join(store, "b.pcap")))?.packets).toBe(50);
  });

  it("leaves files still being written for later when asked to", async () => {
    await writeFile(join(store, "old.pcap"), capture(1_700_000_000));
    await writeFile(join(store, "live.pcap"), capture(1_700_000_100));
    const { files } = await scanStores([store]);
    const now = Math.max(...files.map((f) => f.mtimeMs)) + 1000;
    const result = await indexStores({
      files: files.map((f) => (f.path.endsWith("old.pcap") ? { ...f, mtimeMs: now - 60_000 } : f)),
      stateDir: state,
      quietMs: 5000,
      now: () => now,
    });
    expect(result.files.map((f) => [f.path.slice(store.length + 1), f.status])).toEqual([
      ["old.pcap", "built"],
      ["live.pcap", "open"],
    ]);
  });

  it("reports corrupt captures and indexes the rest", async () => {
    const bad = capture(1_700_000_000);
    bad.writeUInt32LE(0x7fff_0000, 24 + 8);
    await writeFile(join(store, "bad.pcap"), capture(1_700_000_000));
    await writeFile(join(store, "good.pcap"), capture(1_700_000_100));
    const { files } = await scanStores([store]);
    // Corrupted after cataloguing (a disk error, a writer crash): indexing finds it.
    await writeFile(join(store, "bad.pcap"), bad);
    const result = await indexStores({ files, stateDir: state });
    expect(result.files.map((f) => f.status)).toEqual(["built"]);
    expect(result.skipped).toEqual([
      {
        path: join(store, "bad.pcap"),
        reason: "caplen 2147418112 exceeds the maximum of 262144 at offset 24",
      },
    ]);
  });

  it("hands each file's outcome to onFile or onSkip with its catalogue entry and newest packet", async () => {
    await writeFile(join(store, "a.pcap"), capture(1_700_000_000));
    await writeFile(join(store, "b.pcap"), capture(1_700_000_100));
    const { files } = await scanStores([store]);
    await writeFile(join(store, "b.pcap"), Buffer.from(capture(1_700_000_100)).fill(0xff, 24 + 8, 24 + 12));
    const seen: [string, string][] = [];
    let entry: IndexedFile | undefined;
    const result = await indexStores({
      files,
      stateDir: state,
      chunkSize: 1024,
      onFile: (indexed, file) => {
        entry = indexed;
        seen.push(["file", file.path]);
      },
      onSkip: (skip, file) => seen.push([skip.reason, file.path]),
    });
    expect(seen).toEqual([
      ["file", join(store, "a.pcap")],
      [result.skipped[0]?.reason, join(store, "b.pcap")],
    ]);
    expect(result.skipped[0]?.reason).toMatch(/^caplen \d+ exceeds/);
    const last = samplePackets(40, { startSec: 1_700_000_000, minLength: 60, maxLength: 400 }).at(-1);
    expect(entry?.newest).toEqual({ sec: last?.tsSec, nsec: last?.tsNsec });
    expect(entry?.status).toBe("built");
  });

  it("cancels inside a file between read batches", async () => {
    await writeFile(join(store, "big.pcap"), capture(1_700_000_000, 2000));
    const { files } = await scanStores([store]);
    const controller = new AbortController();
    let records = 0;
    const run = indexStores({
      files,
      stateDir: state,
      chunkSize: 4096,
      signal: controller.signal,
      onRecord: () => {
        records++;
        if (records === 1) controller.abort(new Error("stop"));
      },
    });
    await expect(run).rejects.toMatchObject({ code: "cancelled" });
    // One 4 KiB batch holds a few dozen records of at most 400 bytes, far from 2000.
    expect(records).toBeGreaterThan(0);
    expect(records).toBeLessThan(100);
    expect(await loadIndex(state, join(store, "big.pcap"))).toBeUndefined();
  });

  it("refuses a state directory that is the store itself, and honours cancellation", async () => {
    await writeFile(join(store, "a.pcap"), capture(1_700_000_000));
    const { files } = await scanStores([store]);
    await expect(indexStores({ files, stateDir: store })).rejects.toMatchObject({ code: "invalid_argument" });
    const controller = new AbortController();
    controller.abort();
    await expect(indexStores({ files, stateDir: state, signal: controller.signal })).rejects.toMatchObject({
      code: "cancelled",
    });
  });
});
