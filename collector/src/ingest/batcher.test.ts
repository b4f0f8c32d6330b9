import { describe, expect, it } from "vitest";
import { createBatcher, type Settled } from "./batcher.js";

/** A writer that records its batches and finishes each when the test says so. */
function gatedWriter() {
  const batches: string[][] = [];
  const gates: (() => void)[] = [];
  const write = async (items: readonly string[]): Promise<Settled<string>[]> => {
    batches.push([...items]);
    await new Promise<void>((resolve) => gates.push(resolve));
    return items.map((item) =>
      item.startsWith("bad")
        ? { ok: false, error: new Error(item) }
        : { ok: true, value: item.toUpperCase() },
    );
  };
  const open = async () => {
    while (gates.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    gates.shift()?.();
  };
  return { batches, write, open };
}

describe("createBatcher", () => {
  it("collects items for maxDelayMs, then writes them as one batch and settles each", async () => {
    const writer = gatedWriter();
    const batcher = createBatcher({ write: writer.write, maxSize: 10, maxDelayMs: 5, concurrency: 1 });
    const results = ["a", "bad1", "b"].map((item) =>
      batcher.submit(item).catch((error: Error) => error.message),
    );
    await writer.open();
    expect(await Promise.all(results)).toEqual(["A", "bad1", "B"]);
    expect(writer.batches).toEqual([["a", "bad1", "b"]]);
  });

  it("splits at maxSize and sends what collected during a write right after it", async () => {
    const writer = gatedWriter();
    const batcher = createBatcher({ write: writer.write, maxSize: 2, maxDelayMs: 1_000, concurrency: 1 });
    const all = ["a", "b", "c", "d", "e"].map((item) => batcher.submit(item));
    expect(batcher.backlog).toBe(5);
    await writer.open();
    await writer.open();
    await writer.open();
    await Promise.all(all);
    expect(writer.batches).toEqual([["a", "b"], ["c", "d"], ["e"]]);
    await batcher.drain();
    expect(batcher.backlog).toBe(0);
  });

  it("keeps items of one key out of concurrent batches, in order", async () => {
    const writer = gatedWriter();
    const batcher = createBatcher({
      write: writer.write,
      maxSize: 10,
      maxDelayMs: 1,
      concurrency: 2,
      key: (item: string) => item[0] ?? "",
    });
    const first = batcher.submit("x1");
    await new Promise((resolve) => setTimeout(resolve, 5)); // x1's batch is being written
    const rest = ["x2", "y1", "x3", "y2"].map((item) => batcher.submit(item));
    await new Promise((resolve) => setTimeout(resolve, 5));
    // The second writer may take the y items only: x waits for x1's batch.
    expect(writer.batches).toEqual([["x1"], ["y1", "y2"]]);
    await writer.open();
    await writer.open();
    await writer.open();
    await Promise.all([first, ...rest]);
    expect(writer.batches[2]).toEqual(["x2", "x3"]);
  });

  it("rejects every item of a batch whose write throws", async () => {
    const batcher = createBatcher<string, string>({
      write: async () => Promise.reject(new Error("database down")),
      maxSize: 10,
      maxDelayMs: 1,
      concurrency: 1,
    });
    await expect(Promise.all([batcher.submit("a"), batcher.submit("b")])).rejects.toThrow("database down");
  });

  it("resolves below(limit) only once the backlog fell under the limit", async () => {
    const writer = gatedWriter();
    const batcher = createBatcher({ write: writer.write, maxSize: 2, maxDelayMs: 1_000, concurrency: 1 });
    let roomFor3 = false;
    let roomFor5 = false;
    const all = ["a", "b", "c", "d", "e"].map((item) => batcher.submit(item));
    void batcher.below(3).then(() => {
      roomFor3 = true;
    });
    void batcher.below(5).then(() => {
      roomFor5 = true;
    });
    await batcher.below(6); // already true: resolves at once
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect([roomFor3, roomFor5]).toEqual([false, false]);
    await writer.open(); // [a, b] written: backlog 3
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect([roomFor3, roomFor5]).toEqual([false, true]);
    await writer.open(); // [c, d] written: backlog 1
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(roomFor3).toBe(true);
    await writer.open();
    await Promise.all(all);
  });
});
