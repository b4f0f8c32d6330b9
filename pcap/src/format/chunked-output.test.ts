/**
 * The output core on real destinations: a file by path and by descriptor (chunks reused from a
 * bounded pool), a sink that lends chunks (the memory it gives back is refilled), a PassThrough
 * read late (chunks it holds are never refilled), raw runs that
 * span chunks, and write failures of a full device and of a failing stream.
 */
import { randomBytes } from "node:crypto";
import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { AppError } from "@pcapfleet/core/errors";
import { describe, expect, it } from "vitest";
import { ChunkedOutput, IN_FLIGHT, MIN_WRITE_CHUNK } from "./chunked-output.js";
import type { ByteSink } from "./sink.js";
import { withTempDir } from "./testing.js";

/** 1 MiB of random bytes, appended in uneven runs so that runs straddle chunk boundaries. */
const payload = randomBytes(1024 * 1024);
const RUN = 7919;

/** Appends `payload` in runs, honouring backpressure; returns every chunk the output filled. */
async function appendAll(out: ChunkedOutput): Promise<Set<Buffer>> {
  const chunks = new Set<Buffer>();
  for (let at = 0; at < payload.length; at += RUN) {
    out.append(payload, at, Math.min(at + RUN, payload.length));
    chunks.add(out.buf);
    if (out.needsDrain) await out.drain();
  }
  await out.close();
  return chunks;
}

describe("ChunkedOutput", () => {
  it("writes a path and a descriptor from a bounded pool of reused chunks", async () => {
    await withTempDir(async (dir) => {
      const byPath = join(dir, "path.bin");
      const pathOut = await ChunkedOutput.open(byPath, { chunkSize: MIN_WRITE_CHUNK });
      const pathChunks = await appendAll(pathOut);
      expect(pathOut.bytesWritten).toBe(payload.length);
      expect((await readFile(byPath)).equals(payload)).toBe(true);
      // 16 chunks' worth of bytes went through at most the chunks in flight plus the one filled.
      expect(pathChunks.size).toBeLessThanOrEqual(IN_FLIGHT + 1);
      const handle = await open(join(dir, "fd.bin"), "w");
      const fdChunks = await appendAll(await ChunkedOutput.open(handle.fd, { chunkSize: MIN_WRITE_CHUNK }));
      await handle.close();
      expect((await readFile(join(dir, "fd.bin"))).equals(payload)).toBe(true);
      expect(fdChunks.size).toBeLessThanOrEqual(IN_FLIGHT + 1);
    });
  });

  it("gives a stream that may hold on to chunks a fresh chunk each time", async () => {
    const stream = new PassThrough({ highWaterMark: MIN_WRITE_CHUNK });
    const received: Buffer[] = [];
    // Read slowly: the PassThrough keeps the very Buffers it was given until they are read.
    const reading = (async () => {
      for await (const chunk of stream) {
        received.push(chunk as Buffer);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    const chunks = await appendAll(await ChunkedOutput.open(stream, { chunkSize: MIN_WRITE_CHUNK }));
    await reading;
    expect(Buffer.concat(received).equals(payload)).toBe(true);
    expect(chunks.size).toBeGreaterThanOrEqual(payload.length / MIN_WRITE_CHUNK);
  });

  it("fills again the memory a lending sink gives back, as the new Buffer it returns", async () => {
    const received: Buffer[] = [];
    const memories = new Set<ArrayBufferLike>();
    let lent = 0;
    let mostLent = 0;
    const sink: ByteSink = {
      name: "<lending>",
      full: false,
      write: () => {
        throw new Error("a lending sink is only lent to");
      },
      drain: () => Promise.resolve(),
      close: () => Promise.resolve(),
      // As across threads: the bytes are copied out later, and the memory comes back as a new Buffer.
      lend: async (chunk, length) => {
        memories.add(chunk.buffer);
        mostLent = Math.max(mostLent, ++lent);
        await new Promise((resolve) => setTimeout(resolve, 1));
        received.push(Buffer.from(chunk.subarray(0, length)));
        lent -= 1;
        return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      },
    };
    const out = await ChunkedOutput.open(sink, { chunkSize: MIN_WRITE_CHUNK });
    const chunks = await appendAll(out);
    expect(Buffer.concat(received).equals(payload)).toBe(true);
    expect(mostLent).toBeLessThanOrEqual(IN_FLIGHT);
    // 16 chunks' worth went through at most the chunks in flight plus the one being filled.
    expect(memories.size).toBeLessThanOrEqual(IN_FLIGHT + 1);
    expect(chunks.size).toBeGreaterThan(IN_FLIGHT + 1);
  });

  it("puts a block larger than a chunk in a chunk of its own", async () => {
    const sink = new PassThrough();
    const received: Buffer[] = [];
    sink.on("data", (chunk: Buffer) => received.push(chunk));
    const out = await ChunkedOutput.open(sink);
    out.append(payload, 0, 10);
    out.reserve(3 * MIN_WRITE_CHUNK + 1024 * 1024);
    payload.copy(out.buf, out.used, 10);
    out.used += payload.length - 10;
    await out.close();
    expect(Buffer.concat(received).equals(payload)).toBe(true);
  });

  it("rejects drain or close with a storage_io error when the device is full", async () => {
    const out = await ChunkedOutput.open("/dev/full", { chunkSize: MIN_WRITE_CHUNK });
    const failure = await appendAll(out).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AppError);
    expect(failure).toMatchObject({ code: "storage_io", message: "/dev/full: write failed" });
    // close() still reports the failure (and releases the file); closing again is a no-op.
    await expect(out.close()).rejects.toMatchObject({ code: "storage_io" });
    await expect(out.close()).resolves.toBeUndefined();
  });

  it("rejects with a storage_io error when a stream fails, without waiting forever", async () => {
    let writes = 0;
    const failing = new Writable({
      highWaterMark: MIN_WRITE_CHUNK,
      write(_chunk: Buffer, _encoding, done) {
        writes += 1;
        setTimeout(() => done(writes === 3 ? new Error("peer went away") : null), 1);
      },
    });
    const out = await ChunkedOutput.open(failing, { chunkSize: MIN_WRITE_CHUNK });
    const failure = await appendAll(out).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: "storage_io", message: "<stream>: write failed" });
    expect((failure as AppError).cause).toMatchObject({ message: "peer went away" });
  });
});
