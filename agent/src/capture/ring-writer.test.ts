import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@pcapfleet/core";
import { type ClassicVariant, classicFixture, openCapture, samplePackets } from "@pcapfleet/pcap";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listRingFiles, nextRingSeq, ringFileName, ringFileSeq } from "./ring-files.js";
import { createRingWriter, type RingWriterOptions } from "./ring-writer.js";

const log = createLogger({ name: "test", level: "silent" });
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pf-ring-writer-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function writer(overrides: Partial<RingWriterOptions> = {}) {
  const closed: string[] = [];
  const errors: string[] = [];
  const ring = createRingWriter({
    dir,
    prefix: "eth9",
    rotateBytes: 1 << 30,
    rotateSeconds: 1e6,
    firstSeq: 7,
    log,
    onClosed: (path) => closed.push(path),
    onWriteError: (error) => errors.push(error.message),
    ...overrides,
  });
  return { ring, closed, errors };
}

/** Feeds a stream in pieces of `step` bytes, as a pipe may deliver it. */
function feed(push: (chunk: Buffer) => boolean, stream: Buffer, step: number): void {
  for (let at = 0; at < stream.length; at += step) push(Buffer.from(stream.subarray(at, at + step)));
}

/** Record bytes of a capture (everything after the 24-byte header), in file order. */
async function ringRecords(): Promise<{ names: string[]; bodies: Buffer[]; headers: Buffer[] }> {
  const names = (await readdir(dir)).sort();
  const files = await Promise.all(names.map((name) => readFile(join(dir, name))));
  return {
    names,
    bodies: files.map((file) => file.subarray(24)),
    headers: files.map((file) => file.subarray(0, 24)),
  };
}

describe("createRingWriter", () => {
  it.each<[ClassicVariant, number]>([
    ["nsec-le", 1],
    ["usec-be", 7],
    ["nsec-le", 65_536],
  ])("cuts a %s stream fed in %i-byte pieces into files by size, byte-identical", async (variant, step) => {
    const packets = samplePackets(200, { maxLength: 400, stepNsec: 1_000_000 });
    const stream = classicFixture(packets, { variant });
    const { ring, closed } = writer({ rotateBytes: 4096 });
    feed((chunk) => ring.push(chunk), stream, step);
    await ring.endStream();
    const { names, bodies, headers } = await ringRecords();
    expect(names.length).toBeGreaterThan(5);
    expect(names[0]).toBe(ringFileName("eth9", packets[0]?.tsSec ?? 0, 7));
    expect(closed.sort()).toEqual(names.map((name) => join(dir, name)));
    // Every file holds the stream's header and whole records, and no more than rotateBytes.
    for (const header of headers) expect(header).toEqual(stream.subarray(0, 24));
    for (const body of bodies) expect(body.length + 24).toBeLessThanOrEqual(4096);
    expect(Buffer.concat(bodies)).toEqual(stream.subarray(24));
    expect(ring.counters).toEqual({ packets: 200, bytes: stream.length - 24, files: names.length, lost: 0 });
    let count = 0;
    for (const name of names) {
      const reader = await openCapture(join(dir, name));
      while ((await reader.next()) !== null) count += 1;
      expect(reader.truncatedTail).toBeNull();
      await reader.close();
    }
    expect(count).toBe(200);
  });

  it("rotates by packet time, and closes an idle file once its time is up", async () => {
    // 10 packets 0.25 s apart with rotateSeconds 1: files of 4, 4 and 2 packets.
    const packets = samplePackets(10, { stepNsec: 250_000_000, maxLength: 100 });
    const { ring } = writer({ rotateSeconds: 1 });
    ring.push(classicFixture(packets, { variant: "nsec-le" }));
    expect(ring.counters.files).toBe(3);
    expect(ring.openPaths.size).toBeGreaterThanOrEqual(1);
    const current = [...ring.openPaths].at(-1) ?? "";
    const firstTs = packets[8]?.tsSec ?? 0;
    ring.tick((firstTs + 1.5) * 1000); // not yet: a second of grace for libpcap's block timeout
    expect([...ring.openPaths]).toContain(current);
    ring.tick((firstTs + 4) * 1000);
    await ring.endStream();
    expect(ring.openPaths.size).toBe(0);
    const { names } = await ringRecords();
    expect(names.map((name) => ringFileSeq("eth9", name))).toEqual([7, 8, 9]);
  });

  it("starts a new file with the new header when tcpdump restarts", async () => {
    const { ring } = writer();
    ring.push(classicFixture(samplePackets(3), { variant: "usec-le" }));
    await ring.endStream();
    ring.push(classicFixture(samplePackets(2, { startSec: 1_800_000_000 }), { variant: "nsec-le" }));
    await ring.endStream();
    const { headers, names } = await ringRecords();
    expect(names).toHaveLength(2);
    expect(headers[0]?.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(headers[1]?.readUInt32LE(0)).toBe(0xa1b23c4d);
  });

  it("never overwrites a file and rejects a stream that is not pcap", async () => {
    const packets = samplePackets(1);
    await writeFile(join(dir, ringFileName("eth9", packets[0]?.tsSec ?? 0, 7)), "foreign");
    const { ring } = writer();
    ring.push(classicFixture(packets));
    await ring.endStream();
    expect((await readdir(dir)).sort()).toEqual([
      ringFileName("eth9", packets[0]?.tsSec ?? 0, 7),
      ringFileName("eth9", packets[0]?.tsSec ?? 0, 8),
    ]);
    expect(() => writer().ring.push(Buffer.alloc(64, 0x41))).toThrow(/no pcap header/);
  });
});

describe("ring file names", () => {
  it("formats, parses and orders only this prefix's files", async () => {
    expect(ringFileName("eth0", 1_700_000_000.9, 3)).toBe("eth0-20231114T221320Z-000003.pcap");
    expect(ringFileSeq("eth0", "eth0-20231114T221320Z-000003.pcap")).toBe(3);
    expect(ringFileSeq("eth0", "eth0-1-20231114T221320Z-000003.pcap")).toBeUndefined();
    expect(ringFileSeq("eth0", "eth0.pcap0")).toBeUndefined();
    for (const name of [
      "eth0-20231114T221320Z-000010.pcap",
      "eth0-20231114T221320Z-000002.pcap",
      "other.pcap",
    ]) {
      await writeFile(join(dir, name), "x");
    }
    expect((await listRingFiles(dir, "eth0")).map((file) => file.seq)).toEqual([2, 10]);
    expect(await nextRingSeq(dir, "eth0")).toBe(11);
    expect(await nextRingSeq(dir, "eth1")).toBe(0);
  });
});
