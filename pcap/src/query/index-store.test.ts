import { appendFile, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { classicFixture, samplePackets } from "../format/fixtures.js";
import { loadIndex } from "../index-file/store.js";
import { scanStores } from "./catalogue.js";
import { indexStores } from "./index-store.js";

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
