import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HashingFile, HashingWriteStream, syncFile } from "./hashing-file.js";

const sha = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");

describe("result store files", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "pf-hashing-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("writes chunks in order and hashes the whole file, also after a resume", async () => {
    const path = join(dir, "task.pcap");
    const chunks = Array.from({ length: 200 }, (_, i) => randomBytes(1000 + i * 517));
    const first = await HashingFile.open(path, false);
    for (const chunk of chunks.slice(0, 120)) {
      first.write(chunk);
      if (first.full) await first.drain();
    }
    await first.abandon();
    const resumed = await HashingFile.open(path, true);
    const before = Buffer.concat(chunks.slice(0, 120));
    expect(resumed.size).toBe(before.length);
    for (const chunk of chunks.slice(120)) resumed.write(chunk);
    await resumed.close();
    const whole = Buffer.concat(chunks);
    const onDisk = await readFile(path);
    expect(onDisk.equals(whole)).toBe(true);
    expect(resumed.digest()).toBe(sha(whole));
  });

  it("reports a write failure as storage_io instead of losing bytes silently", async () => {
    const file = await HashingFile.open(join(dir, "gone.pcap"), false);
    await file.abandon(); // the descriptor is closed: every later write fails
    file.write(Buffer.alloc(10));
    await expect(file.drain()).rejects.toMatchObject({ code: "storage_io" });
  });

  it("hashes what a stream writer gives it, even when the writer reuses its buffers", async () => {
    const path = join(dir, "result.pcap");
    const out = new HashingWriteStream(path);
    const reused = Buffer.alloc(64 * 1024);
    const expected = createHash("sha256");
    for (let i = 0; i < 50; i++) {
      reused.fill(i);
      expected.update(reused);
      await new Promise<void>((resolve, reject) =>
        out.write(reused, (error) => (error ? reject(error) : resolve())),
      );
    }
    await new Promise<void>((resolve) => out.end(resolve));
    await syncFile(path);
    expect(await out.digest()).toBe(expected.digest("hex"));
    expect(sha(await readFile(path))).toBe(await out.digest());
  });
});
