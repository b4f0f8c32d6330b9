import { describe, expect, it } from "vitest";
import { LinkType, PcapFormatError } from "../types.js";
import { type FixtureInterface, pcapngFixture, samplePackets, unitsPerSecond } from "./fixtures.js";
import { openCaptureBuffer } from "./open.js";
import { collect, expectedRecords, type RecordCopy, richSections } from "./testing.js";

const strip = (records: RecordCopy[]) => records.map(({ fileOffset: _o, recordLength: _l, ...rest }) => rest);

describe("pcapng reader", () => {
  it("reads sections of both byte orders, all block kinds and resolutions, skipping other blocks", async () => {
    const sections = richSections();
    const bytes = pcapngFixture(sections);
    const reader = await openCaptureBuffer(bytes);
    expect(reader.format).toBe("pcapng");
    expect(reader.linkTypes).toEqual([LinkType.ETHERNET, LinkType.RAW, LinkType.LINUX_SLL]);
    expect(reader.nanosecond).toBe(true);
    expect(reader.littleEndian).toBe(true);
    expect(reader.snaplen).toBe(0);
    const records = await collect(reader);
    expect(strip(records)).toEqual(expectedRecords(sections));
    expect(reader.linkTypes).toEqual([LinkType.ETHERNET, LinkType.RAW, LinkType.LINUX_SLL, LinkType.IPV4]);
    expect(reader.truncatedTail).toBeNull();
    // Offsets and lengths tile the packet blocks: each record's bytes end with its own length.
    for (const rec of records) {
      const end = rec.fileOffset + rec.recordLength - 4;
      expect([bytes.readUInt32LE(end), bytes.readUInt32BE(end)]).toContain(rec.recordLength);
    }
  });

  it("gives identical records for every chunk size, through next() and readBatch()", async () => {
    const bytes = pcapngFixture(richSections());
    const reference = await collect(await openCaptureBuffer(bytes));
    for (const chunkSize of [32, 100, 777, 8192]) {
      expect(await collect(await openCaptureBuffer(bytes, { chunkSize }), "next")).toEqual(reference);
      expect(await collect(await openCaptureBuffer(bytes, { chunkSize }))).toEqual(reference);
    }
  });

  it("converts extreme resolutions and 64-bit timestamps exactly", async () => {
    const interfaces: FixtureInterface[] = [
      { linkType: 1, tsresol: 0 },
      { linkType: 1, tsresol: 12 },
      { linkType: 1, tsresol: 19 },
      { linkType: 1, tsresol: 0x80 | 63 },
      { linkType: 1, tsresol: 0x80 | 1 },
      { linkType: 1, tsresol: 0x80 | 33, tsoffset: -86_400 },
    ];
    // The latest second each resolution can store in 64 bits, so the top bits are exercised too.
    const packets = interfaces.map((iface, interfaceId) => ({
      data: Buffer.alloc(20, interfaceId),
      tsSec:
        Math.min(1_700_000_123, Number(2n ** 64n / unitsPerSecond(iface.tsresol)) - 1) +
        (iface.tsoffset ?? 0),
      tsNsec: 987_654_321,
      interfaceId,
    }));
    const sections = [{ interfaces, packets }];
    const records = await collect(await openCaptureBuffer(pcapngFixture(sections)));
    expect(strip(records)).toEqual(expectedRecords(sections));
  });

  it("seeks backwards and forwards across sections using the right byte order and interfaces", async () => {
    const bytes = pcapngFixture(richSections());
    const all = await collect(await openCaptureBuffer(bytes));
    const reader = await openCaptureBuffer(bytes, { chunkSize: 256 });
    const far = all[80];
    const near = all[10];
    if (far === undefined || near === undefined) throw new Error("fixture too small");
    await reader.seek(far.fileOffset);
    expect(await collect(reader)).toEqual(all.slice(80));
    await reader.seek(near.fileOffset);
    expect((await reader.next())?.interfaceId).toBe(near.interfaceId);
    expect(await collect(reader)).toEqual(all.slice(11));
    const ranged = await openCaptureBuffer(bytes, { start: near.fileOffset, end: far.fileOffset });
    expect(await collect(ranged)).toEqual(all.slice(10, 80));
    const fresh = await openCaptureBuffer(bytes);
    await expect(fresh.seek(far.fileOffset + 4)).rejects.toBeInstanceOf(PcapFormatError);
  });

  const base = (): Buffer =>
    pcapngFixture([
      { interfaces: [{ linkType: 1 }], packets: samplePackets(3, { minLength: 40, maxLength: 40 }) },
    ]);
  // SHB is 56 bytes (with its shb_userappl option), the IDB 36 (with if_name), each EPB 72.
  const idb = 56;
  const firstEpb = idb + 36;
  it.each([
    [
      "a block length that is not a multiple of 4",
      (b: Buffer) => b.writeUInt32LE(70, firstEpb + 4),
      firstEpb,
    ],
    ["a block length below 12", (b: Buffer) => b.writeUInt32LE(8, firstEpb + 4), firstEpb],
    ["a zero block length", (b: Buffer) => b.writeUInt32LE(0, firstEpb + 4), firstEpb],
    ["a huge block length", (b: Buffer) => b.writeUInt32LE(0xfffffff0, firstEpb + 4), firstEpb],
    ["a trailing length mismatch", (b: Buffer) => b.writeUInt32LE(76, firstEpb + 68), firstEpb],
    ["an undefined interface", (b: Buffer) => b.writeUInt32LE(5, firstEpb + 8), firstEpb],
    ["a caplen beyond its block", (b: Buffer) => b.writeUInt32LE(41, firstEpb + 20), firstEpb],
    ["an IDB option overrunning the block", (b: Buffer) => b.writeUInt16LE(200, idb + 18), idb + 16],
    ["a bad if_tsresol", (b: Buffer) => b.writeUInt16LE(9, idb + 16), idb + 16],
  ])("rejects %s with a PcapFormatError at its offset", async (_label, corrupt, offset) => {
    const bytes = base();
    corrupt(bytes);
    const outcome = await openCaptureBuffer(bytes, { name: "bad.pcapng" })
      .then((reader) => collect(reader))
      .catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(PcapFormatError);
    expect((outcome as PcapFormatError).file).toBe("bad.pcapng");
    expect((outcome as PcapFormatError).offset).toBe(offset);
  });

  it("rejects a bad byte-order magic and an unsupported version", async () => {
    const badBom = base();
    badBom.writeUInt32LE(0x12345678, 8);
    await expect(openCaptureBuffer(badBom)).rejects.toThrow(/byte-order magic/);
    const v2 = base();
    v2.writeUInt16LE(2, 12);
    await expect(openCaptureBuffer(v2)).rejects.toThrow(/version 2/);
  });

  it("ends at the last complete block of a file cut mid-block and says where", async () => {
    const bytes = base();
    const reader = await openCaptureBuffer(bytes.subarray(0, bytes.length - 10));
    expect(await collect(reader)).toHaveLength(2);
    expect(reader.truncatedTail).toEqual({ offset: firstEpb + 2 * 72, bytes: 62 });
  });
});
