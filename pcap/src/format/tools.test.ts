/**
 * Parity with the real tools on the same files: tshark's view of every packet equals ours, and
 * what our writers produce is read back identically by tcpdump and tshark.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LinkType } from "../types.js";
import { type ClassicVariant, classicFixture, pcapngFixture, samplePackets } from "./fixtures.js";
import { openCapture } from "./open.js";
import { createPcapWriter } from "./pcap-writer.js";
import { createPcapngWriter } from "./pcapng-writer.js";
import { collect, type RecordCopy, richSections, run, tsharkFrames, withTempDir } from "./testing.js";

const packets = samplePackets(300, { seed: 11 });

/** Files covering every magic, both pcapng byte orders, ns and power-of-2 resolutions, tsoffset. */
function variants(): Array<[string, Buffer]> {
  const classic: ClassicVariant[] = ["usec-le", "usec-be", "nsec-le", "nsec-be"];
  const beOnly = richSections().map((s) => ({ ...s, littleEndian: false }));
  const binary = [
    {
      interfaces: [
        { linkType: LinkType.ETHERNET, tsresol: 0x80 | 32 },
        { linkType: LinkType.RAW, tsresol: 10 },
      ],
      packets: packets.map((p, i) => ({ ...p, interfaceId: i % 2 })),
    },
  ];
  return [
    ...classic.map((v): [string, Buffer] => [`${v}.pcap`, classicFixture(packets, { variant: v })]),
    ["rich.pcapng", pcapngFixture(richSections())],
    ["big-endian.pcapng", pcapngFixture(beOnly)],
    ["binary.pcapng", pcapngFixture(binary)],
  ];
}

describe("parity with tshark and tcpdump", () => {
  it("tshark reports the same time, length and caplen for every packet of every variant", async () => {
    await withTempDir(async (dir) => {
      await Promise.all(
        variants().map(async ([name, bytes]) => {
          const path = join(dir, name);
          await writeFile(path, bytes);
          const reader = await openCapture(path);
          const ours = await collect(reader);
          await reader.close();
          // tshark also lists copyable Custom Blocks as records, without an encapsulation: drop them.
          const frames = (await tsharkFrames(path)).filter((f) => f.encapType !== "");
          expect(frames.length, name).toBe(ours.length);
          frames.forEach((frame, i) => {
            const rec = ours[i] as RecordCopy;
            expect([rec.origLen, rec.caplen], `${name} #${i}`).toEqual([frame.origLen, frame.caplen]);
            // Simple Packet Blocks have no timestamp: tshark prints none, we keep the previous one.
            if (frame.tsSec === 0 && frame.tsNsec === 0) return;
            expect([rec.tsSec, rec.tsNsec], `${name} #${i}`).toEqual([frame.tsSec, frame.tsNsec]);
          });
        }),
      );
    });
  });

  for (const nanosecond of [false, true]) {
    it(`tcpdump copies our ${nanosecond ? "ns" : "µs"} pcap to an identical file`, async () => {
      await withTempDir(async (dir) => {
        const ours = join(dir, "ours.pcap");
        const back = join(dir, "back.pcap");
        const source = await openCapture(await fixtureFile(dir, "nsec-le"));
        const writer = await createPcapWriter(ours, { linkType: LinkType.ETHERNET, nanosecond });
        while ((await source.readBatch((rec) => writer.write(rec))) > 0) await writer.drain();
        await writer.close();
        await source.close();
        await run("tcpdump", [...(nanosecond ? ["--nano"] : []), "-r", ours, "-w", back]);
        const [a, b] = await Promise.all([readAll(ours), readAll(back)]);
        expect(b).toEqual(a);
        expect(a).toHaveLength(packets.length);
        expect(a.map((r) => r.tsNsec)).toEqual(
          packets.map((p) => (nanosecond ? p.tsNsec : Math.floor(p.tsNsec / 1000) * 1000)),
        );
        // Same header fields and records: tcpdump's copy is byte for byte ours.
        expect((await readFile(back)).equals(await readFile(ours))).toBe(true);
      });
    });
  }

  it("tshark reads our two-link-type pcapng with the right encapsulation and times per packet", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "merged.pcapng");
      const eth = await openCapture(await fixtureFile(dir, "nsec-le"));
      const writer = await createPcapngWriter(path);
      let rec = await eth.next();
      for (let i = 0; rec !== null; i++, rec = await eth.next()) {
        // Every third packet is re-labelled raw IP, as a merge of two sensors would interleave them.
        if (i % 3 === 0) rec.linkType = LinkType.RAW;
        writer.write(rec);
      }
      await writer.close();
      await eth.close();
      const frames = await tsharkFrames(path);
      expect(frames).toHaveLength(packets.length);
      frames.forEach((frame, i) => {
        const p = packets[i];
        expect(frame.protocols.split(":")[0]).toBe(i % 3 === 0 ? "raw" : "eth");
        expect([frame.tsSec, frame.tsNsec, frame.caplen]).toEqual([p?.tsSec, p?.tsNsec, p?.data.length]);
      });
      const ours = await openCapture(path);
      // The Ethernet interface was declared on first use, after the first (raw) packet.
      expect(ours.linkTypes).toEqual([LinkType.RAW]);
      expect((await collect(ours)).map((r) => r.tsNsec)).toEqual(packets.map((p) => p.tsNsec));
      expect(ours.linkTypes).toEqual([LinkType.RAW, LinkType.ETHERNET]);
      await ours.close();
    });
  });
});

async function fixtureFile(dir: string, variant: ClassicVariant): Promise<string> {
  const path = join(dir, `${variant}-source.pcap`);
  await writeFile(path, classicFixture(packets, { variant }));
  return path;
}

async function readAll(path: string): Promise<RecordCopy[]> {
  const reader = await openCapture(path);
  try {
    return await collect(reader);
  } finally {
    await reader.close();
  }
}
