/**
 * Parity with mergecap: the same inputs merged by mergecap and by mergeCaptures give the same
 * records (time, lengths, link type, bytes) in the same order, including the order of packets
 * with equal timestamps in different inputs.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openCapture } from "../format/index.js";
import { tsharkFrames, withTempDir } from "../format/testing.js";
import { LinkType } from "../types.js";
import { mergeCaptures } from "./merge-captures.js";
import {
  expectSameRecords,
  mergecap,
  readRecords,
  type SynthFile,
  sameBytes,
  writeInputs,
} from "./test-support.js";

const T = 1_700_000_000;
/** Millisecond timestamps at 2000 pps: many packets share a timestamp, within and across inputs. */
const TIES = 1_000_000;

/** Three µs inputs over overlapping ranges (0–1 s, 0.3–1.3 s, 0.6–1.6 s), with ties. */
const interleaved: SynthFile[] = [
  { seed: 1, packets: 2000, quantumNs: TIES },
  { seed: 2, packets: 2000, startNsec: 300_000_000, quantumNs: TIES },
  { seed: 3, packets: 2000, startNsec: 600_000_000, quantumNs: TIES },
];

describe("mergeCaptures matches mergecap", () => {
  it("µs inputs with interleaved ranges and equal timestamps: the same file as mergecap -F pcap", async () => {
    await withTempDir(async (dir) => {
      const inputs = await writeInputs(dir, interleaved);
      const ref = await mergecap(join(dir, "ref.pcap"), inputs, "pcap");
      const out = join(dir, "ours.pcap");
      const result = await mergeCaptures(inputs, out);
      expect(result).toMatchObject({
        packets: 6000,
        truncated: false,
        inputs: [2000, 2000, 2000],
        skipped: [],
      });
      expect(result).toMatchObject({ format: "pcap", nanosecond: false });
      expectSameRecords(await readRecords(out), await readRecords(ref));
      // Same header (version, snaplen, link type) and records: byte for byte mergecap's file.
      expect(await sameBytes(out, ref)).toBe(true);
    });
  });

  it("equal timestamps go later input first, as mergecap's scan does", async () => {
    await withTempDir(async (dir) => {
      // Five inputs over the same second with 10 ms timestamps: nearly every packet ties.
      const specs = [1, 2, 3, 4, 5].map((seed) => ({
        seed,
        packets: 300,
        ratePps: 300,
        quantumNs: 10 * TIES,
      }));
      const inputs = await writeInputs(dir, specs);
      const ours = join(dir, "ours.pcap");
      const result = await mergeCaptures(inputs, ours);
      expect(result.packets).toBe(1500);
      expectSameRecords(
        await readRecords(ours),
        await readRecords(await mergecap(join(dir, "r.pcap"), inputs, "pcap")),
      );
      // "earlier-input" is mergecap's order for the reversed list.
      const first = join(dir, "first.pcap");
      await mergeCaptures(inputs, first, { tieBreak: "earlier-input" });
      expect(await sameBytes(first, ours), "the inputs do tie").toBe(false);
      const reversed = await mergecap(join(dir, "rev.pcap"), [...inputs].reverse(), "pcap");
      expectSameRecords(await readRecords(first), await readRecords(reversed));
    });
  });

  it("a nanosecond input and a pcapng input make a nanosecond merge, as mergecap -F nsecpcap", async () => {
    await withTempDir(async (dir) => {
      const inputs = await writeInputs(dir, [
        interleaved[0] as SynthFile,
        { seed: 7, packets: 1500, startNsec: 250_000_123, nanosecond: true },
        { seed: 8, packets: 1500, startNsec: 500_000_777, format: "pcapng", quantumNs: TIES },
        { seed: 9, packets: 10, startSec: T + 5 },
      ]);
      const out = join(dir, "ours.pcap");
      const result = await mergeCaptures(inputs, out);
      expect(result).toMatchObject({ format: "pcap", nanosecond: true, inputs: [2000, 1500, 1500, 10] });
      const ref = await mergecap(join(dir, "ref.pcap"), inputs, "nsecpcap");
      expectSameRecords(await readRecords(out), await readRecords(ref));
      expect(await sameBytes(out, ref)).toBe(true);
    });
  });

  it("different link types make a pcapng that tshark reads, with mergecap's record sequence", async () => {
    await withTempDir(async (dir) => {
      const inputs = await writeInputs(dir, [
        { seed: 11, packets: 800, quantumNs: TIES },
        { seed: 12, packets: 800, linkType: LinkType.LINUX_SLL2, startNsec: 100_000_000, quantumNs: TIES },
        { seed: 13, packets: 800, linkType: LinkType.RAW, startNsec: 200_000_000, nanosecond: true },
      ]);
      const out = join(dir, "ours.pcapng");
      const result = await mergeCaptures(inputs, out);
      expect(result).toMatchObject({ format: "pcapng", packets: 2400, skipped: [] });
      const ours = await readRecords(out);
      expectSameRecords(ours, await readRecords(await mergecap(join(dir, "ref.pcapng"), inputs)));
      const reader = await openCapture(out);
      expect(reader.linkTypes).toEqual([LinkType.ETHERNET, LinkType.LINUX_SLL2, LinkType.RAW]);
      await reader.close();
      const frames = await tsharkFrames(out);
      expect(frames).toHaveLength(2400);
      const first = { [LinkType.ETHERNET]: "eth", [LinkType.LINUX_SLL2]: "sll", [LinkType.RAW]: "raw" };
      frames.forEach((frame, i) => {
        const rec = ours[i];
        expect([frame.tsSec, frame.tsNsec, frame.caplen, frame.origLen]).toEqual([
          rec?.tsSec,
          rec?.tsNsec,
          rec?.caplen,
          rec?.origLen,
        ]);
        expect(frame.protocols.split(":")[0]).toBe(first[rec?.linkType as keyof typeof first]);
      });
    });
  });

  it("merges open readers and leaves them open; sync reads; one input is a plain copy", async () => {
    await withTempDir(async (dir) => {
      const inputs = await writeInputs(dir, interleaved);
      const readers = await Promise.all(inputs.map((path) => openCapture(path, { chunkSize: 4096 })));
      const out = join(dir, "ours.pcap");
      const result = await mergeCaptures(readers, out);
      expect(result.packets).toBe(6000);
      expectSameRecords(
        await readRecords(out),
        await readRecords(await mergecap(join(dir, "r.pcap"), inputs, "pcap")),
      );
      // Still open: reading again from the start works.
      await (readers[0] as (typeof readers)[0]).seek(24);
      expect((await readers[0]?.next())?.tsSec).toBe(T);
      await Promise.all(readers.map((r) => r.close()));
      // Sync reads (the CLI mode) change nothing in the output.
      const sync = join(dir, "sync.pcap");
      await mergeCaptures(inputs, sync, { syncReads: true });
      expect(await sameBytes(sync, join(dir, "r.pcap"))).toBe(true);
      const single = join(dir, "single.pcap");
      await mergeCaptures([inputs[1] as string], single);
      expect(await sameBytes(single, inputs[1] as string)).toBe(true);
    });
  });
});
