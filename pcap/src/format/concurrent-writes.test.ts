/**
 * `concurrentWrites`: chunks of a regular file written at their offsets as soon as they are full,
 * several at once, must give the very bytes in-order writes give; a path that is not a regular
 * file (a FIFO) must still be written in order.
 */
import { spawnSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createPcapWriter } from "./pcap-writer.js";
import { MemorySink, type WriteTarget } from "./sink.js";
import { withTempDir } from "./testing.js";

/** Writes 3000 records of 100-1500 bytes (about 2.3 MB: many 64 KiB chunks) to `target`. */
async function writeRecords(target: WriteTarget, concurrentWrites: boolean): Promise<void> {
  const writer = await createPcapWriter(target, { linkType: 1, chunkSize: 64 * 1024, concurrentWrites });
  const data = Buffer.alloc(1500);
  for (let i = 0; i < 3000; i++) {
    const caplen = 100 + ((i * 7919) % 1400);
    data.fill(i & 0xff, 0, caplen);
    if (!writer.writePacket(data, 0, caplen, caplen + 4, 1_700_000_000 + i, i * 1000)) await writer.drain();
  }
  await writer.close();
}

async function expected(): Promise<Buffer> {
  const sink = new MemorySink();
  await writeRecords(sink, false);
  return sink.toBuffer();
}

describe("concurrent writes", () => {
  it("write a regular file byte for byte as in-order writes do", async () => {
    await withTempDir(async (dir) => {
      const want = await expected();
      const path = join(dir, "out.pcap");
      await writeRecords(path, true);
      const got = await readFile(path);
      expect(got.length).toBe(want.length);
      expect(got.equals(want)).toBe(true);
      // A second slice over the same path truncates it first.
      await writeRecords(path, true);
      expect((await readFile(path)).equals(want)).toBe(true);
    });
  });

  // mkfifo is part of coreutils; without it the FIFO case cannot be set up.
  const hasMkfifo = spawnSync("mkfifo", ["--version"]).status === 0;
  if (hasMkfifo) {
    it("write a FIFO in order (no offsets on a pipe)", async () => {
      await withTempDir(async (dir) => {
        const want = await expected();
        const fifo = join(dir, "out.fifo");
        expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
        const chunks: Buffer[] = [];
        const drained = new Promise<void>((resolve, reject) => {
          const stream = createReadStream(fifo);
          stream.on("data", (chunk) => chunks.push(chunk as Buffer));
          stream.on("end", resolve);
          stream.on("error", reject);
        });
        await writeRecords(fifo, true);
        await drained;
        expect(Buffer.concat(chunks).equals(want)).toBe(true);
      });
    });
  }
});
