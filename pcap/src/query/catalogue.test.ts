import { link, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { classicFixture, type FixturePacket, pcapngFixture, samplePackets } from "../format/fixtures.js";
import { LinkType } from "../types.js";
import { type CaptureFile, type ScanOptions, scanStores } from "./catalogue.js";
import { MAX_STORE_DEPTH } from "./store-walk.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pcapfleet-catalogue-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const packets = (startSec: number, count = 3): FixturePacket[] =>
  samplePackets(count, { startSec, minLength: 60, maxLength: 200 });

async function put(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, bytes);
  return path;
}

const names = (files: readonly CaptureFile[]): string[] =>
  files.map((file) => file.path.slice(dir.length + 1));

// Both flavours of system calls must catalogue alike: the thread pool's (servers) and the
// synchronous ones (CLIs).
const flavours: [string, ScanOptions][] = [
  ["through the thread pool", {}],
  ["with synchronous calls", { syncReads: true }],
];

describe.each(flavours)("scanStores %s", (_flavour, options) => {
  it("finds captures by their magic whatever their names, and ignores other files silently", async () => {
    await put("eth0.pcap7", classicFixture(packets(1_700_000_300), { variant: "usec-be" }));
    await put(
      "ring-0001",
      pcapngFixture([{ interfaces: [{ linkType: LinkType.ETHERNET }], packets: packets(1_700_000_100) }]),
    );
    await put("x.cap", classicFixture(packets(1_700_000_200), { variant: "nsec-le", snaplen: 96 }));
    await put("notes.txt", Buffer.from("not a capture at all"));
    await put("tiny", Buffer.from([0xd4]));
    await put("state/abc.pfidx", Buffer.from("PFIX\x01\x00\x00\x00 index bytes"));
    const { files, skipped } = await scanStores([dir], options);
    expect(skipped).toEqual([]);
    expect(names(files)).toEqual(["ring-0001", "x.cap", "eth0.pcap7"]);
    const [ng, nano, be] = files as [CaptureFile, CaptureFile, CaptureFile];
    expect(ng).toMatchObject({ format: "pcapng", linkTypes: [LinkType.ETHERNET], littleEndian: true });
    expect(nano).toMatchObject({ format: "pcap", nanosecond: true, snaplen: 96, littleEndian: true });
    expect(be).toMatchObject({ format: "pcap", nanosecond: false, littleEndian: false });
    expect(nano.first).toEqual({ sec: 1_700_000_200, nsec: 123_456_789 });
    expect(be.first).toEqual({ sec: 1_700_000_300, nsec: 123_456_000 });
    expect(nano.size).toBeGreaterThan(24);
    expect(nano.mtimeMs).toBeGreaterThan(0);
    expect(typeof nano.ino).toBe("bigint");
  });

  it("orders by first packet, then path, and puts files without packets last", async () => {
    await put("b.pcap", classicFixture(packets(1_700_000_000)));
    await put("a.pcap", classicFixture(packets(1_700_000_000)));
    await put("0-early.pcap", classicFixture(packets(1_600_000_000)));
    await put("empty.pcap", classicFixture([]));
    const { files } = await scanStores([dir], options);
    expect(names(files)).toEqual(["0-early.pcap", "a.pcap", "b.pcap", "empty.pcap"]);
    expect(files[3]?.first).toBeUndefined();
  });

  it("searches MAX_STORE_DEPTH levels below each store, and no deeper", async () => {
    let nested = "";
    for (let level = 1; level <= MAX_STORE_DEPTH + 1; level++) {
      nested = join(nested, `d${level}`);
      await put(join(nested, `level${level}.pcap`), classicFixture(packets(1_700_000_000 + level)));
    }
    const { files } = await scanStores([dir], options);
    expect(files.map((file) => file.path.split("/").pop())).toEqual([
      "level1.pcap",
      "level2.pcap",
      "level3.pcap",
      "level4.pcap",
    ]);
  });

  it("lists a file reached twice (overlapping stores, hard links, symlinked dirs) once", async () => {
    const path = await put("ring/a.pcap", classicFixture(packets(1_700_000_000)));
    await link(path, join(dir, "ring", "hard.pcap"));
    await symlink(join(dir, "ring"), join(dir, "loop"));
    const { files } = await scanStores([dir, join(dir, "ring")], options);
    expect(files).toHaveLength(1);
  });

  it("reports captures that cannot be read, with a reason", async () => {
    const bad = classicFixture(packets(1_700_000_000));
    bad.writeUInt32LE(0xffff_ff00, 24 + 8); // first record's caplen
    await put("corrupt.pcap", bad);
    await put("short.pcap", classicFixture([]).subarray(0, 10));
    await put("v1.pcap", Buffer.from(classicFixture([])).fill(1, 4, 5));
    await put("good.pcap", classicFixture(packets(1_700_000_000)));
    const { files, skipped } = await scanStores([dir], options);
    expect(names(files)).toEqual(["good.pcap"]);
    expect(skipped.map((skip) => [skip.path.slice(dir.length + 1), skip.reason])).toEqual([
      ["corrupt.pcap", expect.stringMatching(/^caplen \d+ exceeds the maximum of 262144 at offset 24$/)],
      ["short.pcap", "truncated file header at offset 10"],
      ["v1.pcap", "unsupported pcap version 1 at offset 4"],
    ]);
  });

  it("fails with invalid_argument naming a store that does not exist or is not a directory", async () => {
    const missing = join(dir, "nope");
    await expect(scanStores([missing], options)).rejects.toMatchObject({
      code: "invalid_argument",
      message: `store not found: ${missing}`,
    });
    const file = await put("file.pcap", classicFixture([]));
    await expect(scanStores([file], options)).rejects.toMatchObject({ message: `store not found: ${file}` });
  });

  it("returns an empty catalogue for an empty store", async () => {
    expect(await scanStores([dir], options)).toEqual({ files: [], skipped: [] });
  });
});
