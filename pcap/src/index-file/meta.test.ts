/**
 * The meta part decoded piecewise (meta.ts): the same header, blocks and directories as the
 * whole-file decoder, used in place when aligned and copied when not; a directory is checked
 * when it is first used, so damage in one a query does not use does not stop the query, and
 * damage in one it uses is an IndexFormatError, never a wrong answer. A slice then scans that
 * file (the same packets as without an index) and deletes the damaged index.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classicFixture } from "../format/index.js";
import { planFilter } from "../plan/filter-terms.js";
import { scanStores } from "../query/catalogue.js";
import { sliceStore } from "../query/slice.js";
import { buildIndex } from "./build.js";
import type { CaptureIndex } from "./capture-index.js";
import { decodeIndex, encodeIndex, IndexFormatError } from "./codec.js";
import { ip4Text, trafficPackets } from "./corpus.test-support.js";
import { FAMILY_NAMES } from "./index-data.js";
import { decodeMeta } from "./meta.js";
import { PROLOGUE } from "./prologue.js";
import { loadIndex, openIndexView, saveIndex } from "./store.js";

const root = await mkdtemp(join(tmpdir(), "pcapfleet-index-meta-"));
afterAll(() => rm(root, { recursive: true, force: true }));

let store: string;
let capture: string;
let state: string;
let indexFile: string;
let index: CaptureIndex;
let bytes: Buffer;

beforeAll(async () => {
  store = join(root, "captures");
  await mkdir(store);
  capture = join(store, "ring.pcap");
  state = join(root, "state");
  const packets = trafficPackets({ packets: 8_000, hosts: 40, subnets: 4, vlanShare: 0.2, ipv6Share: 0.2 });
  await writeFile(capture, classicFixture(packets, { variant: "usec-le" }));
  index = await buildIndex(capture);
  indexFile = await saveIndex(state, index);
  bytes = await readFile(indexFile);
});

/** `good` with a list offset of family `name` out of order and the meta CRC made valid again. */
function withBadOffsets(good: Buffer, name: (typeof FAMILY_NAMES)[number]): Buffer {
  const damaged = Buffer.from(good);
  const dir = decodeMeta(damaged).directory(name);
  if (dir.size < 2) throw new Error(`family ${name} too small`);
  // Aligned bytes: the directory's columns are views of `damaged`, so their offsets locate them.
  const at = dir.offsets.byteOffset - damaged.byteOffset;
  damaged.writeUInt32LE((dir.offsets[dir.size] as number) + 1, at + 4);
  const length = damaged.readUInt32LE(8);
  damaged.writeUInt32LE(crc32(damaged.subarray(PROLOGUE, length)), 12);
  return damaged;
}

describe("decodeMeta", () => {
  it("decodes the header, blocks and directories as the whole-file decoder does", () => {
    const whole = decodeIndex(bytes);
    // A copy at an odd offset: columns cannot be used in place there and are copied.
    const odd = Buffer.alloc(bytes.length + 1);
    bytes.copy(odd, 1);
    for (const source of [bytes, odd.subarray(1)]) {
      const meta = decodeMeta(source);
      expect(meta.header).toEqual(index.header);
      expect(meta.fileLength).toBe(bytes.length);
      expect(meta.blocks).toEqual(whole.blocks);
      for (const name of FAMILY_NAMES) {
        const family = whole.families[name];
        const dir = meta.directory(name);
        expect(meta.words(name)).toBe(family.words);
        expect([dir.words, dir.size]).toEqual([family.words, family.size]);
        expect(dir.keys).toEqual(family.keys);
        expect(dir.counts).toEqual(family.counts);
        expect(dir.dense).toEqual(family.dense);
        expect(dir.offsets).toEqual(family.offsets);
      }
    }
  });

  it("uses the columns in place when they are aligned, and copies them when not", () => {
    const inPlace = decodeMeta(bytes);
    expect(inPlace.blocks.starts.buffer).toBe(bytes.buffer);
    expect(inPlace.directory("port").keys.buffer).toBe(bytes.buffer);
    const odd = Buffer.alloc(bytes.length + 1);
    bytes.copy(odd, 1);
    const copied = decodeMeta(odd.subarray(1));
    expect(copied.blocks.starts.buffer).not.toBe(odd.buffer);
    expect(copied.directory("port").keys.buffer).not.toBe(odd.buffer);
  });

  it("checks a directory when it is used: damage elsewhere does not stop a query", () => {
    const damaged = withBadOffsets(bytes, "port");
    const meta = decodeMeta(damaged);
    expect(meta.header).toEqual(index.header);
    expect(meta.directory("ip4").offsets).toEqual(index.families.ip4.offsets);
    expect(() => meta.directory("port")).toThrow(IndexFormatError);
    // The whole-file decoder decodes every directory (and checks the trailer first).
    expect(() => decodeIndex(damaged)).toThrow(IndexFormatError);
    expect(() => decodeIndex(Buffer.concat([damaged.subarray(0, -4), Buffer.alloc(4)]))).toThrow(
      IndexFormatError,
    );
  });

  it("rejects a meta part whose CRC, length or layout is wrong", () => {
    const flipped = Buffer.from(bytes);
    flipped[PROLOGUE + 3] = (flipped[PROLOGUE + 3] ?? 0) ^ 1;
    expect(() => decodeMeta(flipped)).toThrow(expect.objectContaining({ reason: "checksum" }));
    const length = bytes.readUInt32LE(8);
    expect(() => decodeMeta(bytes.subarray(0, length - 1))).toThrow(
      expect.objectContaining({ reason: "truncated" }),
    );
    // A meta part one byte longer (CRC made valid): the layout ends before it does.
    const longer = Buffer.concat([bytes.subarray(0, length), Buffer.alloc(1)]);
    longer.writeUInt32LE(length + 1, 8);
    longer.writeUInt32LE(crc32(longer.subarray(PROLOGUE)), 12);
    expect(() => decodeMeta(longer)).toThrow(expect.objectContaining({ reason: "invalid" }));
    // Encoding again gives the same bytes: nothing in the piecewise decoder mutates them.
    expect(encodeIndex(decodeIndex(bytes)).equals(bytes)).toBe(true);
  });
});

describe("a damaged directory in a slice", () => {
  it("answers from the other directories, and scans the file when the query needs the damaged one", async () => {
    const ip4 = index.families.ip4;
    const sparse = Array.from({ length: ip4.size }, (_, i) => i).find((i) => ip4.dense[i] === 0);
    if (sparse === undefined) throw new Error("no sparse host");
    const host = `host ${ip4Text(ip4.keys[sparse] as number)}`;
    const port = "tcp port 443";
    const { files } = await scanStores([store], { syncReads: true });
    const slice = async (filter: string, stateDir: string | undefined, name: string) => {
      const output = join(root, name);
      await sliceStore({ files, filter, output, syncReads: true, ...(stateDir ? { stateDir } : {}) });
      return readFile(output);
    };
    const expected = {
      host: await slice(host, undefined, "host-scan.pcap"),
      port: await slice(port, undefined, "port-scan.pcap"),
    };
    // Both queries match something (a pcap header is 24 bytes).
    expect(expected.host.length).toBeGreaterThan(24);
    expect(expected.port.length).toBeGreaterThan(24);
    try {
      await writeFile(indexFile, withBadOffsets(bytes, "port"));
      const view = await openIndexView(state, capture);
      if (view === undefined) throw new Error("no view");
      const narrowed = await view.candidates(planFilter(host));
      expect(narrowed.kind).toBe("offsets");
      expect(narrowed).toEqual(index.candidates(planFilter(host)));
      await expect(view.candidates(planFilter(port))).rejects.toBeInstanceOf(IndexFormatError);
      await view.close();
      // A host query does not use the port directory: the index stays and answers.
      expect((await slice(host, state, "host.pcap")).equals(expected.host)).toBe(true);
      expect(existsSync(indexFile)).toBe(true);
      // A port query does: the file is scanned (same packets) and the index deleted.
      expect((await slice(port, state, "port.pcap")).equals(expected.port)).toBe(true);
      expect(existsSync(indexFile)).toBe(false);
      expect(await loadIndex(state, capture)).toBeUndefined();
    } finally {
      await writeFile(indexFile, bytes);
    }
  });
});
