import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createBackoff } from "./backoff.js";
import { captureLog } from "./collector-double.js";
import { openTrafficQueue } from "./traffic-queue.js";
import type { TrafficRow } from "./traffic-row.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pcapfleet-queue-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `count` distinct rows, one minute each from `firstMinute`. */
function rows(count: number, firstMinute = 0): TrafficRow[] {
  return Array.from({ length: count }, (_, index) => ({
    minuteStartNs: BigInt(1_700_000_000 + (firstMinute + index) * 60) * 1_000_000_000n,
    prefix: `10.${index % 256}.0.0/24`,
    direction: index % 2 === 0 ? "src" : "dst",
    bytes: 1500 * (index + 1),
    packets: index + 1,
  }));
}

describe("traffic queue", () => {
  it("keeps rows in order across reopen and forgets acked ones on disk", async () => {
    const { log } = captureLog();
    const queue = await openTrafficQueue({ dir, maxBytes: 1 << 20, log });
    await queue.append(rows(3));
    await queue.append(rows(2, 3));
    const all = await queue.readBatch(0, 100);
    expect(all.map((row) => row.id)).toEqual([1, 2, 3, 4, 5]);
    expect(all[4]).toMatchObject({ ...rows(2, 3)[1], id: 5 });
    expect((await queue.readBatch(2, 2)).map((row) => row.id)).toEqual([3, 4]);
    await queue.ackThrough(2);
    expect(queue.queuedRows()).toBe(3);
    await queue.close();

    const reopened = await openTrafficQueue({ dir, maxBytes: 1 << 20, log });
    expect(reopened.floor()).toBe(2);
    expect((await reopened.readBatch(0, 100)).map((row) => row.id)).toEqual([3, 4, 5]);
    // New rows continue the ids in a fresh segment.
    await reopened.append(rows(1, 10));
    expect((await reopened.readBatch(5, 100)).map((row) => row.id)).toEqual([6]);
    await reopened.ackThrough(6);
    expect(reopened.queuedRows()).toBe(0);
    await reopened.close();
    expect((await readdir(dir)).filter((name) => name.endsWith(".jsonl"))).toEqual([]);
    expect((await readFile(join(dir, "acked"), "utf8")).trim()).toBe("6");
  });

  it("drops the oldest rows beyond its bound with one warning saying how many", async () => {
    const { log, lines } = captureLog();
    const maxBytes = 8 * 1024;
    const queue = await openTrafficQueue({ dir, maxBytes, log });
    for (let batch = 0; batch < 40; batch++) await queue.append(rows(10, batch * 10));
    expect(queue.diskBytes()).toBeLessThanOrEqual(maxBytes);
    const left = await queue.readBatch(0, 10_000);
    // The newest rows are all there, contiguous up to the last one; the oldest are gone.
    expect(left.at(-1)?.id).toBe(400);
    expect(left.map((row) => row.id)).toEqual(
      Array.from({ length: left.length }, (_, i) => 401 - left.length + i),
    );
    expect(left.length).toBeGreaterThan(40);
    expect(left.length).toBe(queue.queuedRows());
    const warnings = lines.filter(
      (line) => line["msg"] === "heartbeat queue full: dropped the oldest traffic rows",
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.["dropped"]).toBeGreaterThan(0);
    // Draining the queue ends the episode with the total.
    await queue.ackThrough(400);
    const total = lines.find(
      (line) => line["msg"] === "heartbeat queue: traffic rows dropped in all while full",
    );
    expect(total?.["dropped"]).toBe(400 - left.length);
    await queue.close();
  });

  it("skips torn and corrupt lines and a corrupt acked marker with warnings", async () => {
    const { log } = captureLog();
    const queue = await openTrafficQueue({ dir, maxBytes: 1 << 20, log });
    await queue.append(rows(4));
    await queue.close();
    const [segment] = (await readdir(dir)).filter((name) => name.endsWith(".jsonl"));
    if (segment === undefined) throw new Error("no segment written");
    const path = join(dir, segment);
    const text = await readFile(path, "utf8");
    const lines = text.split("\n");
    // Row 2 garbled in the middle, and a torn line at the end as a crash mid-write leaves.
    lines[1] = '{"i":2,"m":"17000';
    await writeFile(path, `${lines.join("\n")}{"i":5,"m":"1700`);
    await appendFile(join(dir, "seg-0000000000000099.jsonl"), "\u0000\u0001 not json\n");
    await writeFile(join(dir, "acked"), "garbage");

    const captured = captureLog();
    const reopened = await openTrafficQueue({ dir, maxBytes: 1 << 20, log: captured.log });
    expect((await reopened.readBatch(0, 100)).map((row) => row.id)).toEqual([1, 3, 4]);
    const warnings = captured.lines.filter((line) => line["level"] === 40);
    expect(warnings.map((line) => line["msg"])).toEqual([
      "heartbeat queue: unreadable acked marker ignored; unacked rows may be sent twice",
      "heartbeat queue: corrupt lines skipped",
      "heartbeat queue: corrupt lines skipped",
    ]);
    expect(warnings[1]).toMatchObject({ file: segment, lines: 2 });
    // The unreadable segment held nothing and is gone; appending goes on after the last good id.
    await reopened.append(rows(1));
    expect((await reopened.readBatch(4, 100)).map((row) => row.id)).toEqual([5]);
    await reopened.close();
  });
});

describe("backoff", () => {
  it("doubles its cap up to the maximum, jitters below the cap, and resets", () => {
    const backoff = createBackoff({ initialMs: 100, maxMs: 1_000 });
    const steps = Array.from({ length: 7 }, () => backoff.next());
    expect(steps.map((step) => step.capMs)).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
    for (const step of steps) {
      expect(step.delayMs).toBeGreaterThanOrEqual(0);
      expect(step.delayMs).toBeLessThan(step.capMs);
    }
    const ratios = new Set(steps.map((step) => Math.round((step.delayMs / step.capMs) * 1000)));
    expect(ratios.size).toBeGreaterThan(1);
    backoff.reset();
    expect(backoff.next()).toMatchObject({ attempt: 1, capMs: 100 });
    const fixed = createBackoff({ initialMs: 100, maxMs: 1_000, random: () => 0.5 });
    expect([fixed.next().delayMs, fixed.next().delayMs]).toEqual([50, 100]);
  });
});
