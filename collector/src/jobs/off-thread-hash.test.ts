import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { OffThreadHash } from "./off-thread-hash.js";

describe("OffThreadHash", () => {
  it("gives the SHA-256 of the bytes in order, whatever their sizes, while the caller reuses its buffer", async () => {
    const hash = new OffThreadHash();
    const expected = createHash("sha256");
    const reused = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (const size of [0, 1, 1000, 1024 * 1024, 1024 * 1024 + 1, reused.length, 5]) {
      for (let i = 0; i < 3; i++) {
        const view = reused.subarray(0, size);
        randomBytes(Math.min(size, 4096)).copy(view);
        view.fill(size + i, Math.min(size, 4096));
        expected.update(view);
        await hash.update(view);
        // The bytes were copied out: changing them now must not change the digest.
        view.fill(0xee);
      }
    }
    const hex = expected.digest("hex");
    expect(await hash.digest()).toBe(hex);
    expect(await hash.digest()).toBe(hex);
  });

  it("fails the calls waiting on a worker that died, instead of hanging", async () => {
    const hash = new OffThreadHash();
    await hash.update(Buffer.alloc(10));
    await (hash as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await expect(hash.update(Buffer.alloc(8 * 1024 * 1024))).rejects.toThrow(/SHA-256 worker thread failed/);
    await expect(hash.digest()).rejects.toThrow(/SHA-256 worker thread failed/);
  });

  it("refuses more bytes once abandoned", async () => {
    const hash = new OffThreadHash();
    hash.destroy();
    await expect(hash.update(Buffer.alloc(1))).rejects.toThrow(/abandoned/);
    await expect(hash.digest()).rejects.toThrow(/abandoned/);
  });
});
