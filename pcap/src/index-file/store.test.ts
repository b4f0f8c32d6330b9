/**
 * Index files on disk: round trip, where they are stored, and every way they can stop being
 * valid (capture rewritten, replaced, truncated, deleted; index corrupted, truncated, of another
 * version), each of which must read as "no index" and remove the file.
 */
import { existsSync } from "node:fs";
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  symlink,
  truncate,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { crc32 } from "node:zlib";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { classicFixture } from "../format/index.js";
import { planFilter } from "../plan/filter-terms.js";
import { buildIndex } from "./build.js";
import { ethernetCorpus } from "./corpus.test-support.js";
import { indexPathFor, loadIndex, saveIndex } from "./store.js";

const root = await mkdtemp(join(tmpdir(), "pcapfleet-index-store-"));
afterAll(() => rm(root, { recursive: true, force: true }));

const packets = ethernetCorpus(800, 41);
const captureBytes = classicFixture(packets, { variant: "nsec-le" });
const otherBytes = classicFixture(ethernetCorpus(800, 42), { variant: "nsec-le" });
const expressions = [
  "host 198.51.100.7",
  "tcp",
  "udp and port 53",
  "vlan",
  "ip6 net 2001:db8::/32",
  "not tcp",
];

let n = 0;
let captureDir: string;
let capture: string;
let state: string;
beforeEach(async () => {
  n++;
  captureDir = join(root, `captures-${n}`);
  state = join(root, `state-${n}`);
  capture = join(captureDir, "ring-0001.pcap");
  await mkdir(captureDir, { recursive: true });
  await writeFile(capture, captureBytes);
});

/** Builds and saves the index of the capture; returns the index file path. */
async function saved(): Promise<string> {
  return saveIndex(state, await buildIndex(capture));
}

describe("saving and loading", () => {
  it("round-trips: the loaded index gives the same answers", async () => {
    const built = await buildIndex(capture);
    const file = await saveIndex(state, built);
    const loaded = await loadIndex(state, capture);
    expect(loaded).toBeDefined();
    if (loaded === undefined) return;
    expect(loaded.header).toEqual(built.header);
    for (const e of expressions)
      expect(loaded.candidates(planFilter(e)), e).toEqual(built.candidates(planFilter(e)));
    const h = built.header;
    expect(loaded.blocksInWindow(h.minSec, 0, h.minSec + 100, 0)).toEqual(
      built.blocksInWindow(h.minSec, 0, h.minSec + 100, 0),
    );
    expect(loaded.stats()).toEqual(built.stats());
    expect(loaded.stats().indexBytes).toBe((await readFile(file)).length);
  });

  it("stores the index in the state directory, never beside the capture", async () => {
    const file = await saved();
    expect(dirname(file)).toBe(state);
    expect(file).toBe(await indexPathFor(state, capture));
    expect(await readdir(captureDir)).toEqual(["ring-0001.pcap"]);
    // The same file through a symlink or a relative path shares the index.
    const link = join(root, `link-${n}.pcap`);
    await symlink(capture, link);
    expect(await indexPathFor(state, link)).toBe(file);
    expect(await loadIndex(state, link)).toBeDefined();
    const index = await buildIndex(capture);
    await expect(saveIndex(captureDir, index)).rejects.toThrow(/capture's directory/);
    await expect(saveIndex(join(captureDir, ".index"), index)).rejects.toThrow(/capture's directory/);
    expect(await readdir(captureDir)).toEqual(["ring-0001.pcap"]);
    // A state directory beside the capture directory is fine.
    const beside = join(root, `beside-${n}`);
    expect(dirname(await saveIndex(beside, index))).toBe(beside);
  });

  it("leaves no temporary file behind", async () => {
    await saved();
    await saved();
    expect((await readdir(state)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("returns undefined when there is no index", async () => {
    expect(await loadIndex(state, capture)).toBeUndefined();
  });
});

describe("stale indexes are refused and deleted", () => {
  async function expectStale(file: string): Promise<void> {
    expect(await loadIndex(state, capture)).toBeUndefined();
    expect(existsSync(file)).toBe(false);
  }

  it("capture rewritten in place with the same size", async () => {
    const file = await saved();
    const changed = Buffer.from(captureBytes);
    changed[changed.length - 5] = (changed[changed.length - 5] ?? 0) ^ 0xff;
    await writeFile(capture, changed);
    await utimes(capture, new Date(), new Date(Date.now() + 5000));
    await expectStale(file);
  });

  it("capture rewritten in place with other, longer content (same inode)", async () => {
    const file = await saved();
    await writeFile(capture, Buffer.concat([otherBytes, otherBytes.subarray(24)]));
    await expectStale(file);
  });

  it("capture replaced by another file (new inode)", async () => {
    const file = await saved();
    const next = join(captureDir, "next.pcap");
    await writeFile(next, captureBytes);
    await rename(next, capture);
    await expectStale(file);
  });

  it("capture truncated", async () => {
    const file = await saved();
    await truncate(capture, captureBytes.length - 100);
    await expectStale(file);
  });

  it("capture deleted", async () => {
    const file = await saved();
    await rm(capture);
    await expectStale(file);
  });
});

describe("damaged indexes are refused and deleted", () => {
  async function expectDamaged(file: string, bytes: Uint8Array): Promise<void> {
    await writeFile(file, bytes);
    expect(await loadIndex(state, capture)).toBeUndefined();
    expect(existsSync(file)).toBe(false);
  }

  it("one flipped byte anywhere", async () => {
    const file = await saved();
    const bytes = await readFile(file);
    for (const at of [10, Math.floor(bytes.length / 2), bytes.length - 10]) {
      const damaged = Buffer.from(bytes);
      damaged[at] = (damaged[at] ?? 0) ^ 0x01;
      await expectDamaged(file, damaged);
    }
  });

  it("truncated", async () => {
    const file = await saved();
    const bytes = await readFile(file);
    await expectDamaged(file, bytes.subarray(0, bytes.length - 1));
    await expectDamaged(file, bytes.subarray(0, 6));
    await expectDamaged(file, Buffer.alloc(0));
  });

  it("another format version, even with a valid checksum", async () => {
    const file = await saved();
    const bytes = Buffer.from(await readFile(file));
    bytes.writeUInt16LE(99, 4);
    bytes.writeUInt32LE(crc32(bytes.subarray(0, bytes.length - 4)), bytes.length - 4);
    await expectDamaged(file, bytes);
  });

  it("not an index at all", async () => {
    await expectDamaged(await saved(), Buffer.from("hello, this is not an index file"));
  });
});
