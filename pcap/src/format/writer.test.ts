import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { LinkType, PcapFormatError } from "../types.js";
import { type ClassicVariant, classicFixture, samplePackets } from "./fixtures.js";
import { openCapture, openCaptureBuffer } from "./open.js";
import { createPcapWriter, type PcapWriter } from "./pcap-writer.js";
import { createPcapngWriter } from "./pcapng-writer.js";
import { MemorySink } from "./sink.js";
import { collect, withTempDir } from "./testing.js";

const packets = samplePackets(500, { seed: 5 });

/** Copies every record of `source` into `writer`, honouring backpressure the documented way. */
async function copyAll(source: Buffer, writer: PcapWriter): Promise<void> {
  const reader = await openCaptureBuffer(source, { chunkSize: 8192 });
  while ((await reader.readBatch((rec) => writer.write(rec))) > 0) {
    if (writer.needsDrain) await writer.drain();
  }
  await writer.close();
}

describe("classic pcap writer", () => {
  it.each<[ClassicVariant, boolean]>([
    ["usec-le", false],
    ["nsec-le", true],
  ])("rewrites a %s file byte for byte", async (variant, nanosecond) => {
    const source = classicFixture(packets, { variant });
    const sink = new MemorySink();
    await copyAll(source, await createPcapWriter(sink, { linkType: LinkType.ETHERNET, nanosecond }));
    expect(sink.toBuffer().equals(source)).toBe(true);
  });

  it("writes the same values from a big-endian source, converting precision both ways", async () => {
    const toNano = new MemorySink();
    await copyAll(
      classicFixture(packets, { variant: "usec-be" }),
      await createPcapWriter(toNano, { linkType: 1, nanosecond: true }),
    );
    const toMicro = new MemorySink();
    await copyAll(
      classicFixture(packets, { variant: "nsec-be" }),
      await createPcapWriter(toMicro, { linkType: 1 }),
    );
    const micro = (p: (typeof packets)[number]) => Math.floor(p.tsNsec / 1000) * 1000;
    expect((await collect(await openCaptureBuffer(toNano.toBuffer()))).map((r) => r.tsNsec)).toEqual(
      packets.map(micro),
    );
    expect(toMicro.toBuffer().equals(classicFixture(packets, { variant: "usec-le" }))).toBe(true);
  });

  it("cuts records to the snaplen and keeps the original length", async () => {
    const sink = new MemorySink();
    await copyAll(
      classicFixture(packets.slice(0, 50)),
      await createPcapWriter(sink, { linkType: 1, snaplen: 96 }),
    );
    const reader = await openCaptureBuffer(sink.toBuffer());
    expect(reader.snaplen).toBe(96);
    const records = await collect(reader);
    records.forEach((rec, i) => {
      const data = packets[i]?.data ?? Buffer.alloc(0);
      expect(rec.caplen).toBe(Math.min(96, data.length));
      expect(rec.origLen).toBe(data.length);
      expect(rec.data).toEqual(data.subarray(0, 96));
    });
  });

  it("refuses records the file cannot hold with a PcapFormatError", async () => {
    const writer = await createPcapWriter(new MemorySink(), { linkType: LinkType.ETHERNET });
    const data = Buffer.alloc(10);
    expect(() => writer.writePacket(data, 0, 10, 10, 1, 0, LinkType.RAW)).toThrow(PcapFormatError);
    expect(() => writer.writePacket(data, 0, 10, 10, 2 ** 32, 0)).toThrow(PcapFormatError);
    expect(() => writer.writePacket(data, 0, 10, 10, -1, 0)).toThrow(PcapFormatError);
  });

  it("waits for a slow Writable and never lets it queue more than about one chunk", async () => {
    let peak = 0;
    const received: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _encoding, done) {
        received.push(chunk);
        setTimeout(done, 1);
      },
    });
    const writer = await createPcapWriter(slow, { linkType: 1, chunkSize: 64 * 1024 });
    let waits = 0;
    const reader = await openCaptureBuffer(classicFixture(packets));
    while ((await reader.readBatch((rec) => writer.write(rec))) > 0) {
      peak = Math.max(peak, slow.writableLength);
      if (writer.needsDrain) {
        waits += 1;
        await writer.drain();
      }
    }
    await writer.close();
    expect(waits).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(2 * 64 * 1024);
    expect(slow.writableFinished).toBe(true);
    expect(Buffer.concat(received).equals(classicFixture(packets))).toBe(true);
  });

  it("writes to a path and to an open file descriptor", async () => {
    await withTempDir(async (dir) => {
      const byPath = join(dir, "path.pcap");
      await copyAll(classicFixture(packets), await createPcapWriter(byPath, { linkType: 1 }));
      const handle = await open(join(dir, "fd.pcap"), "w");
      await copyAll(classicFixture(packets), await createPcapWriter(handle.fd, { linkType: 1 }));
      await handle.close();
      // Buffer.equals: a deep toEqual over 400 KB is needlessly slow.
      expect((await readFile(byPath)).equals(classicFixture(packets))).toBe(true);
      expect((await readFile(join(dir, "fd.pcap"))).equals(classicFixture(packets))).toBe(true);
    });
  });
});

describe("pcapng writer", () => {
  it("declares interfaces up front or on first use and keeps nanosecond times exactly", async () => {
    const sink = new MemorySink();
    const writer = await createPcapngWriter(sink, {
      interfaces: [{ linkType: LinkType.ETHERNET }, { linkType: LinkType.RAW, snaplen: 128 }],
    });
    let sll: number | undefined;
    packets.forEach((p, i) => {
      sll ??= i === 2 ? writer.addInterface(LinkType.LINUX_SLL2) : undefined;
      const id = i % 3 === 2 ? (sll ?? 2) : i % 3;
      writer.writePacket(id, p.data, 0, p.data.length, p.data.length, p.tsSec, p.tsNsec);
    });
    await writer.close();
    const reader = await openCaptureBuffer(sink.toBuffer());
    expect(reader.linkTypes).toEqual([LinkType.ETHERNET, LinkType.RAW]);
    expect(reader.nanosecond).toBe(true);
    const records = await collect(reader);
    records.forEach((rec, i) => {
      const p = packets[i];
      const cut = i % 3 === 1 ? 128 : Number.POSITIVE_INFINITY;
      expect(rec).toMatchObject({ tsSec: p?.tsSec, tsNsec: p?.tsNsec, origLen: p?.data.length });
      expect(rec.data).toEqual(p?.data.subarray(0, cut));
      expect(rec.linkType).toBe([LinkType.ETHERNET, LinkType.RAW, LinkType.LINUX_SLL2][i % 3]);
    });
    expect(() => writer.writePacket(3, Buffer.alloc(1), 0, 1, 1, 0, 0)).toThrow(PcapFormatError);
  });

  it("round-trips a file through openCapture", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "out.pcapng");
      const writer = await createPcapngWriter(path);
      const reader = await openCaptureBuffer(classicFixture(packets, { variant: "nsec-le" }));
      while ((await reader.readBatch((rec) => writer.write(rec))) > 0) await writer.drain();
      await writer.close();
      const back = await openCapture(path);
      const records = await collect(back);
      await back.close();
      expect(records.map((r) => [r.tsSec, r.tsNsec, r.data])).toEqual(
        packets.map((p) => [p.tsSec, p.tsNsec, p.data]),
      );
    });
  });
});
