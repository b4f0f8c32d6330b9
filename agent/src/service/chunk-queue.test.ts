import { AppError, ErrorCode } from "@pcapfleet/core";
import { describe, expect, it } from "vitest";
import { ChunkQueue, type OutputChunk } from "./chunk-queue.js";

const CHUNK = 64 * 1024;

/** Writes `sizes` bytes of a counting pattern while a consumer takes chunks. */
async function run(
  sizes: readonly number[],
  skip: number,
): Promise<{ all: Buffer; chunks: OutputChunk[]; queue: ChunkQueue }> {
  const queue = new ChunkQueue(CHUNK, skip);
  const total = sizes.reduce((a, b) => a + b, 0);
  const all = Buffer.alloc(total);
  for (let i = 0; i < total; i++) all[i] = (i * 7) & 0xff;
  const chunks: OutputChunk[] = [];
  const consumer = (async () => {
    for (;;) {
      const chunk = await queue.take();
      if (chunk === undefined) return;
      chunks.push(chunk);
    }
  })();
  let at = 0;
  for (const size of sizes) {
    queue.write(Buffer.from(all.subarray(at, at + size)));
    at += size;
    // Let the consumer run between writes, as messages from the worker arrive.
    await new Promise((resolve) => setImmediate(resolve));
  }
  queue.close();
  await consumer;
  return { all, chunks, queue };
}

describe("ChunkQueue", () => {
  it.each([
    ["writes larger than a chunk", [1_048_576, 1_048_576, 12_345], 0],
    ["writes smaller than a chunk", [24, 1000, 70_000, 5, 65_536, 3], 0],
    ["a resume inside the first write", [1_048_576, 300_000], 100_001],
    ["a resume across several writes", [24, 1000, 70_000, 5, 65_536, 3], 71_000],
  ])("%s: exact chunks at the right offsets", async (_name, sizes, skip) => {
    const { all, chunks, queue } = await run(sizes, skip);
    expect(Buffer.concat(chunks.map((c) => c.data)).equals(all.subarray(skip))).toBe(true);
    let offset = skip;
    for (const [i, chunk] of chunks.entries()) {
      expect(chunk.offset).toBe(offset);
      if (i < chunks.length - 1) expect(chunk.data.length).toBe(CHUNK);
      offset += chunk.data.length;
    }
    expect(queue.total).toBe(all.length);
    expect(queue.queued).toBe(0);
  });

  it("counts the bytes waiting for the stream: whole chunks, not the piece still being assembled", async () => {
    const queue = new ChunkQueue(CHUNK, 0);
    queue.write(Buffer.alloc(CHUNK * 3 + 100));
    expect(queue.queued).toBe(CHUNK * 3);
    await queue.take();
    expect(queue.queued).toBe(CHUNK * 2);
    queue.close();
    expect(queue.queued).toBe(CHUNK * 2 + 100);
  });

  it("gives a lent buffer back once every byte of it was skipped, assembled or sent, and not before", async () => {
    const queue = new ChunkQueue(CHUNK, 1000);
    let backs = 0;
    // 1000 bytes skipped, then three whole chunks as views, then 1000 bytes copied into the next.
    queue.write(Buffer.alloc(1000 + 3 * CHUNK + 1000), () => backs++);
    const views: OutputChunk[] = [];
    for (let i = 0; i < 3; i++) views.push((await queue.take()) as OutputChunk);
    expect(views.every((v) => v.sent !== undefined && v.data.length === CHUNK)).toBe(true);
    views[0]?.sent?.();
    views[1]?.sent?.();
    views[1]?.sent?.();
    expect(backs).toBe(0);
    views[2]?.sent?.();
    expect(backs).toBe(1);
    // Straddling bytes are copied into chunks of their own: this buffer goes back at once.
    queue.write(Buffer.alloc(CHUNK), () => backs++);
    expect(backs).toBe(2);
    const assembled = (await queue.take()) as OutputChunk;
    expect(assembled.sent).toBeUndefined();
    expect(assembled.data.length).toBe(CHUNK);
    queue.close();
    expect((await queue.take())?.data.length).toBe(1000);
    await expect(queue.take()).resolves.toBeUndefined();
  });

  it("never gives back a lent buffer the queue dropped in a failure", async () => {
    const queue = new ChunkQueue(CHUNK, 0);
    let backs = 0;
    queue.write(Buffer.alloc(2 * CHUNK), () => backs++);
    const first = (await queue.take()) as OutputChunk;
    queue.fail(new AppError(ErrorCode.Cancelled, "slice cancelled"));
    first.sent?.();
    expect(backs).toBe(0);
  });

  it("fails a waiting and a later take, and drops what was queued", async () => {
    const queue = new ChunkQueue(CHUNK, 0);
    const waiting = queue.take();
    queue.fail(new AppError(ErrorCode.Cancelled, "slice cancelled"));
    await expect(waiting).rejects.toMatchObject({ code: ErrorCode.Cancelled });
    queue.write(Buffer.alloc(CHUNK));
    await expect(queue.take()).rejects.toMatchObject({ code: ErrorCode.Cancelled });
    expect(queue.queued).toBe(0);
  });

  it("a failure after the output completed does not take back what was queued", async () => {
    const queue = new ChunkQueue(CHUNK, 0);
    queue.write(Buffer.alloc(100));
    queue.close();
    queue.fail(new AppError(ErrorCode.Cancelled, "slice cancelled"));
    expect((await queue.take())?.data.length).toBe(100);
    await expect(queue.take()).resolves.toBeUndefined();
  });
});
