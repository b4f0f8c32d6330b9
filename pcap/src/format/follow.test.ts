/**
 * Files still being written (a capture tool's current ring file): reading stops at the last
 * complete record without an error, and continues when more is appended.
 */
import { appendFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PcapFormatError } from "../types.js";
import { classicFixture, pcapngFixture, samplePackets } from "./fixtures.js";
import { openCapture } from "./open.js";
import { collect, withTempDir } from "./testing.js";

const packets = samplePackets(40, { seed: 9 });

/** Record boundaries of a capture, from a complete read. */
async function boundaries(path: string): Promise<number[]> {
  const reader = await openCapture(path);
  const records = await collect(reader);
  await reader.close();
  return records.map((r) => r.fileOffset + r.recordLength);
}

const cases: Array<[string, Buffer]> = [
  ["classic pcap", classicFixture(packets, { variant: "nsec-be" })],
  [
    "pcapng",
    pcapngFixture([
      { unknownBlocks: true, interfaces: [{ linkType: 1, tsresol: 9 }], packets },
      { littleEndian: false, interfaces: [{ linkType: 101 }], packets: packets.slice(0, 5) },
    ]),
  ],
];

describe("reading a growing file", () => {
  for (const [label, whole] of cases) {
    it(`${label}: stops at the last complete record, then sees appended records`, async () => {
      await withTempDir(async (dir) => {
        const full = join(dir, "full");
        await writeFile(full, whole);
        const ends = await boundaries(full);
        // Closed explicitly: a handle left to the GC warns ("closed on garbage collection").
        const referenceReader = await openCapture(full);
        const reference = await collect(referenceReader);
        await referenceReader.close();
        const growing = join(dir, "growing");
        // Cut inside the 11th record, then inside the 31st.
        const cut1 = (ends[9] ?? 0) + 7;
        const cut2 = (ends[29] ?? 0) + 13;
        await writeFile(growing, whole.subarray(0, cut1));
        const reader = await openCapture(growing, { chunkSize: 4096 });
        const first = await collect(reader);
        expect(first).toEqual(reference.slice(0, 10));
        expect(reader.truncatedTail).toEqual({ offset: ends[9], bytes: 7 });

        await appendFile(growing, whole.subarray(cut1, cut2));
        const second = await collect(reader);
        expect(second).toEqual(reference.slice(10, 30));
        expect(reader.truncatedTail?.offset).toBe(ends[29]);

        await appendFile(growing, whole.subarray(cut2));
        expect(await collect(reader, "next")).toEqual(reference.slice(30));
        expect(reader.truncatedTail).toBeNull();
        await reader.close();

        // A later process resumes from the offset the first one reached.
        const resumed = await openCapture(growing, { start: ends[29] ?? 0 });
        expect(await collect(resumed)).toEqual(reference.slice(30));
        await resumed.close();
      });
    });
  }

  it("refuses a file whose header is not fully written yet, so the caller retries later", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "new.pcap");
      await writeFile(path, classicFixture([]).subarray(0, 10));
      await expect(openCapture(path)).rejects.toBeInstanceOf(PcapFormatError);
      await writeFile(path, pcapngFixture([{ interfaces: [], packets: [] }]).subarray(0, 20));
      await expect(openCapture(path)).rejects.toThrow(/truncated section header/);
    });
  });

  it("reports a missing file as not_found, not as a format error", async () => {
    const error = await openCapture("/nonexistent/capture.pcap").catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(PcapFormatError);
    expect(error).toMatchObject({ code: "not_found" });
  });
});
