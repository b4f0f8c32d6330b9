import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LinkType, PcapFormatError } from "../types.js";
import { type ClassicVariant, classicFixture, samplePackets } from "./fixtures.js";
import { openCapture, openCaptureBuffer } from "./open.js";
import { collect, withTempDir } from "./testing.js";

const variants: ClassicVariant[] = ["usec-le", "usec-be", "nsec-le", "nsec-be"];
const packets = samplePackets(200, { seed: 7 });

describe("classic pcap reader", () => {
  for (const variant of variants) {
    it(`reads every field of a ${variant} file`, async () => {
      const nano = variant.startsWith("nsec");
      const bytes = classicFixture(packets, { variant, linkType: LinkType.RAW, linkTypeFlags: 0x1c000000 });
      await withTempDir(async (dir) => {
        const path = join(dir, "capture.bin");
        await writeFile(path, bytes);
        const reader = await openCapture(path);
        expect(reader.format).toBe("pcap");
        expect(reader.linkTypes).toEqual([LinkType.RAW]);
        expect(reader.snaplen).toBe(262_144);
        expect(reader.nanosecond).toBe(nano);
        expect(reader.littleEndian).toBe(variant.endsWith("le"));
        expect(reader.headerBytes).toEqual(bytes.subarray(0, 24));
        const records = await collect(reader);
        await reader.close();
        expect(records).toHaveLength(packets.length);
        let offset = 24;
        records.forEach((rec, i) => {
          const p = packets[i];
          if (p === undefined) throw new Error("missing packet");
          expect(rec.data).toEqual(p.data);
          expect(rec.caplen).toBe(p.data.length);
          expect(rec.origLen).toBe(p.data.length);
          expect(rec.tsSec).toBe(p.tsSec);
          expect(rec.tsNsec).toBe(nano ? p.tsNsec : Math.floor(p.tsNsec / 1000) * 1000);
          expect(rec.linkType).toBe(LinkType.RAW);
          expect(rec.fileOffset).toBe(offset);
          expect(rec.recordLength).toBe(16 + p.data.length);
          offset += rec.recordLength;
        });
        expect(reader.truncatedTail).toBeNull();
      });
    });
  }

  it("gives the same records through next(), readBatch() and tiny chunks that split every record", async () => {
    const bytes = classicFixture(packets, { variant: "nsec-be" });
    const reference = await collect(await openCaptureBuffer(bytes));
    for (const chunkSize of [32, 61, 1000, 4096]) {
      expect(await collect(await openCaptureBuffer(bytes, { chunkSize }), "next")).toEqual(reference);
      expect(await collect(await openCaptureBuffer(bytes, { chunkSize }))).toEqual(reference);
    }
  });

  it("lets the visitor stop a batch and resumes after the last visited record", async () => {
    const reader = await openCaptureBuffer(classicFixture(packets));
    const seen: number[] = [];
    expect(await reader.readBatch((rec) => seen.push(rec.fileOffset) < 3)).toBe(3);
    const rest = await collect(reader);
    expect(rest).toHaveLength(packets.length - 3);
    expect(rest[0]?.fileOffset).toBeGreaterThan(seen[2] ?? 0);
  });

  it("reads a byte range and seeks to record offsets taken from an earlier pass", async () => {
    const bytes = classicFixture(packets, { variant: "usec-be" });
    const all = await collect(await openCaptureBuffer(bytes));
    const from = all[50];
    const to = all[60];
    if (from === undefined || to === undefined) throw new Error("fixture too small");
    const ranged = await collect(
      await openCaptureBuffer(bytes, { start: from.fileOffset, end: to.fileOffset }),
    );
    expect(ranged).toEqual(all.slice(50, 60));
    const reader = await openCaptureBuffer(bytes, { chunkSize: 4096 });
    await reader.seek(to.fileOffset);
    expect((await reader.next())?.tsNsec).toBe(to.tsNsec);
    await reader.seek(from.fileOffset);
    expect((await reader.next())?.fileOffset).toBe(from.fileOffset);
    await expect(reader.seek(3)).rejects.toBeInstanceOf(PcapFormatError);
  });

  it("reports a record cut by the end of the file as a truncated tail, not an error", async () => {
    const bytes = classicFixture(packets.slice(0, 5));
    const cut = bytes.subarray(0, bytes.length - 3);
    const reader = await openCaptureBuffer(cut);
    expect(await collect(reader)).toHaveLength(4);
    const last = 24 + packets.slice(0, 4).reduce((n, p) => n + 16 + p.data.length, 0);
    expect(reader.truncatedTail).toEqual({ offset: last, bytes: cut.length - last });
  });

  it.each([
    ["an empty file", Buffer.alloc(0), 0, /empty file/],
    ["a bad magic", Buffer.from("GIF89a-not-a-capture-at-all"), 0, /not a pcap or pcapng file/],
    ["a truncated header", classicFixture([]).subarray(0, 20), 20, /truncated file header/],
    ["version 1", Buffer.from(classicFixture([]).fill(1, 4, 5)), 4, /version/],
  ])("rejects %s with a PcapFormatError", async (_label, bytes, offset, message) => {
    const error = await openCaptureBuffer(bytes, { name: "bad.pcap" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PcapFormatError);
    expect((error as PcapFormatError).file).toBe("bad.pcap");
    expect((error as PcapFormatError).offset).toBe(offset);
    expect((error as PcapFormatError).message).toMatch(message);
  });

  it("rejects a caplen above the maximum, like libpcap, before buffering it", async () => {
    const bytes = classicFixture(packets.slice(0, 3));
    const second = 24 + 16 + (packets[0]?.data.length ?? 0);
    bytes.writeUInt32LE(262_145, second + 8);
    const reader = await openCaptureBuffer(bytes, { chunkSize: 64 });
    expect(await reader.next()).not.toBeNull();
    const error = await reader.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PcapFormatError);
    expect((error as PcapFormatError).offset).toBe(second);
    expect(reader.bufferSize).toBeLessThanOrEqual(reader.maxBufferSize);
  });

  it("accepts a caplen above the header snaplen (kept whole) and above origLen, as libpcap does", async () => {
    const data = Buffer.alloc(100, 7);
    const bytes = classicFixture([{ data, tsSec: 1, tsNsec: 2000, origLen: 60 }], { snaplen: 64 });
    const [rec] = await collect(await openCaptureBuffer(bytes));
    expect(rec).toMatchObject({ caplen: 100, origLen: 60, data });
  });

  it("carries a microsecond field of a second or more into the seconds", async () => {
    const bytes = classicFixture([{ data: Buffer.alloc(4), tsSec: 10, tsNsec: 0 }]);
    bytes.writeUInt32LE(2_500_000, 28);
    const [rec] = await collect(await openCaptureBuffer(bytes));
    expect(rec).toMatchObject({ tsSec: 12, tsNsec: 500_000_000 });
  });
});
