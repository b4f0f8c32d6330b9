/**
 * The merge's limits and failure handling: byte and packet caps, cancellation, the observer,
 * corrupt, truncated and foreign inputs, and many inputs in bounded memory.
 */
import { copyFile, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AppError } from "@pcapfleet/core/errors";
import { describe, expect, it } from "vitest";
import { MemorySink } from "../format/index.js";
import type { RecordCopy } from "../format/testing.js";
import { withTempDir } from "../format/testing.js";
import { LinkType, type PacketRecord, PcapFormatError } from "../types.js";
import { mergeCaptures } from "./merge-captures.js";
import {
  corruptRecord,
  expectSameRecords,
  mergecap,
  readRecords,
  type SynthFile,
  writeInputs,
} from "./test-support.js";

const three: SynthFile[] = [
  { seed: 21, packets: 1000 },
  { seed: 22, packets: 1000, startNsec: 200_000_000 },
  { seed: 23, packets: 1000, startNsec: 400_000_000 },
];

async function fullMerge(dir: string, inputs: string[]): Promise<RecordCopy[]> {
  await mergeCaptures(inputs, join(dir, "full.pcap"));
  return readRecords(join(dir, "full.pcap"));
}

describe("mergeCaptures limits", () => {
  it("maxPackets stops after that many packets, the first ones of the full merge", async () => {
    await withTempDir(async (dir) => {
      const inputs = await writeInputs(dir, three);
      const full = await fullMerge(dir, inputs);
      const out = join(dir, "capped.pcap");
      const result = await mergeCaptures(inputs, out, { maxPackets: 1234 });
      expect(result).toMatchObject({ packets: 1234, truncated: true, bytes: (await stat(out)).size });
      expect(result.inputs.reduce((a, b) => a + b, 0)).toBe(1234);
      expectSameRecords(await readRecords(out), full.slice(0, 1234));
      const all = await mergeCaptures(inputs, join(dir, "all.pcap"), { maxPackets: 3000 });
      expect(all).toMatchObject({ packets: 3000, truncated: false });
    });
  });

  it("maxBytes keeps the file within the cap and stops before the first record that does not fit", async () => {
    await withTempDir(async (dir) => {
      const inputs = await writeInputs(dir, three);
      const full = await fullMerge(dir, inputs);
      for (const maxBytes of [24, 100_000, 654_321]) {
        const out = join(dir, `capped-${maxBytes}.pcap`);
        const result = await mergeCaptures(inputs, out, { maxBytes });
        const size = (await stat(out)).size;
        expect(result).toMatchObject({ truncated: true, bytes: size });
        expect(size).toBeLessThanOrEqual(maxBytes);
        const next = full[result.packets] as RecordCopy;
        expect(size + 16 + next.caplen).toBeGreaterThan(maxBytes);
        expectSameRecords(await readRecords(out), full.slice(0, result.packets));
      }
    });
  });

  it("the observer sees every written packet, in output order, through one reused record", async () => {
    await withTempDir(async (dir) => {
      const inputs = await writeInputs(dir, three);
      const seen: string[] = [];
      const cursors = new Set<PacketRecord>();
      const fromInput = [0, 0, 0];
      const out = join(dir, "observed.pcap");
      await mergeCaptures(inputs, out, {
        maxPackets: 2500,
        onPacket: (rec, input) => {
          cursors.add(rec);
          fromInput[input] = (fromInput[input] ?? 0) + 1;
          const data = rec.buf.subarray(rec.dataOffset, rec.dataOffset + rec.caplen).toString("hex");
          seen.push(`${rec.tsSec}.${rec.tsNsec} ${data}`);
        },
      });
      const written = (await readRecords(out)).map((r) => `${r.tsSec}.${r.tsNsec} ${r.data.toString("hex")}`);
      expect(seen).toEqual(written);
      expect(cursors.size).toBe(1);
      expect(fromInput.reduce((a, b) => a + b)).toBe(2500);
    });
  });

  it("sync reads into a sink that never pushes back still give the event loop turns", async () => {
    await withTempDir(async (dir) => {
      const inputs = await writeInputs(
        dir,
        [31, 32, 33].map((seed) => ({ seed, packets: 30_000, ratePps: 30_000 })),
      );
      const sink = new MemorySink();
      let ticks = 0;
      let longest = 0;
      let last = performance.now();
      const timer = setInterval(() => {
        ticks += 1;
        longest = Math.max(longest, performance.now() - last);
        last = performance.now();
      }, 1);
      const started = performance.now();
      const result = await mergeCaptures(inputs, sink, { syncReads: true }).finally(() =>
        clearInterval(timer),
      );
      const took = performance.now() - started;
      expect(result.packets).toBe(90_000);
      expect(sink.length).toBe(result.bytes);
      // The loop yields every 10 ms of work; allow for a slow, busy machine.
      if (took > 40) expect(ticks).toBeGreaterThan(0);
      expect(longest).toBeLessThan(Math.max(200, took / 2));
    });
  });

  it("an aborted signal rejects with a cancelled error, before or during the merge", async () => {
    await withTempDir(async (dir) => {
      const inputs = await writeInputs(dir, three);
      const before = new AbortController();
      before.abort();
      await expect(
        mergeCaptures(inputs, join(dir, "a.pcap"), { signal: before.signal }),
      ).rejects.toMatchObject({
        code: "cancelled",
      });
      const during = new AbortController();
      let count = 0;
      const merging = mergeCaptures(inputs, join(dir, "b.pcap"), {
        signal: during.signal,
        readBufferBytes: 3 * 64 * 1024,
        onPacket: () => {
          if (++count === 200) during.abort(new Error("user gave up"));
        },
      });
      const error = await merging.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code: "cancelled" });
      expect(count).toBeLessThan(3000);
    });
  });
});

describe("mergeCaptures with bad inputs", () => {
  it("a corrupt input ends at the bad record, is reported, and the others merge fully", async () => {
    await withTempDir(async (dir) => {
      const inputs = await writeInputs(dir, three);
      const bad = join(dir, "bad.pcap");
      const { offset, prefix } = await corruptRecord(inputs[1] as string, bad, 400);
      const out = join(dir, "ours.pcap");
      const result = await mergeCaptures([inputs[0] as string, bad, inputs[2] as string], out);
      expect(result.inputs).toEqual([1000, 400, 1000]);
      expect(result.skipped).toHaveLength(1);
      const skip = result.skipped[0];
      expect(skip?.input).toBe(1);
      expect(skip?.error).toBeInstanceOf(PcapFormatError);
      expect(skip?.error).toMatchObject({ file: bad, offset });
      // The same as mergecap on the valid part of the corrupt file.
      const ref = await mergecap(
        join(dir, "ref.pcap"),
        [inputs[0] as string, prefix, inputs[2] as string],
        "pcap",
      );
      expectSameRecords(await readRecords(out), await readRecords(ref));
    });
  });

  it("a file cut in a record, a non-capture and an empty file are reported; a missing file rejects", async () => {
    await withTempDir(async (dir) => {
      const inputs = await writeInputs(dir, three);
      const source = inputs[2] as string;
      const cut = join(dir, "cut.pcap");
      await copyFile(source, cut);
      await truncate(cut, (await stat(source)).size - 7);
      // The reference: the same file without its last record, which mergecap reads cleanly.
      const clean = join(dir, "clean.pcap");
      await copyFile(source, clean);
      await truncate(clean, (await readRecords(source)).at(-1)?.fileOffset ?? 0);
      const text = join(dir, "notes.txt");
      await writeFile(text, "not a capture at all\n");
      const empty = join(dir, "empty.pcap");
      await writeFile(empty, "");
      const ref = await mergecap(
        join(dir, "ref.pcap"),
        [inputs[0] as string, inputs[1] as string, clean],
        "pcap",
      );
      for (const syncReads of [false, true]) {
        const out = join(dir, `ours-${syncReads}.pcap`);
        const sources = [text, inputs[0] as string, inputs[1] as string, cut, empty];
        const result = await mergeCaptures(sources, out, { syncReads });
        expect(result.inputs).toEqual([0, 1000, 1000, 999, 0]);
        expect(result.skipped.map((s) => s.input)).toEqual([0, 3, 4]);
        expect(result.skipped[1]?.error.message).toMatch(/incomplete record/);
        expect(result.skipped.every((s) => s.error instanceof PcapFormatError)).toBe(true);
        expectSameRecords(await readRecords(out), await readRecords(ref));
        const nope = join(dir, "nope.pcap");
        const missing = mergeCaptures([inputs[0] as string, nope], join(dir, "x.pcap"), { syncReads });
        await expect(missing).rejects.toMatchObject({ code: "not_found" });
      }
      // Nothing readable at all: an empty classic pcap, the unreadable inputs reported.
      const none = join(dir, "none.pcap");
      const empty0 = await mergeCaptures([text, empty], none, { emptyLinkType: LinkType.RAW });
      expect(empty0).toMatchObject({ packets: 0, bytes: 24, format: "pcap", truncated: false });
      expect(empty0.skipped.map((s) => s.input)).toEqual([0, 1]);
      expect(await readRecords(none)).toEqual([]);
    });
  });

  it("200 small inputs merge like mergecap, within a bounded read-buffer budget", async () => {
    await withTempDir(async (dir) => {
      const specs = Array.from({ length: 200 }, (_, i) => ({
        seed: 100 + i,
        packets: 40,
        ratePps: 200,
        startNsec: (i * 7_919_000) % 1_000_000_000,
        quantumNs: 1_000_000,
      }));
      const inputs = await writeInputs(dir, specs);
      const out = join(dir, "ours.pcap");
      const baseline = process.memoryUsage().arrayBuffers;
      let peak = baseline;
      let count = 0;
      const result = await mergeCaptures(inputs, out, {
        onPacket: () => {
          if (++count % 64 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers);
        },
      });
      expect(result.packets).toBe(8000);
      // Default 4 MiB reader buffers would take 800 MiB here. The merge shares a 64 MiB budget
      // among its inputs and sizes each buffer to its file (about 36 KB here).
      expect(peak - baseline).toBeLessThan(32 * 1024 * 1024);
      expectSameRecords(
        await readRecords(out),
        await readRecords(await mergecap(join(dir, "r.pcap"), inputs, "pcap")),
      );
    });
  });
});
