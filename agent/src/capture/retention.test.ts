import { mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@pcapfleet/core";
import type { DestinationStream, Logger } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createRetention, type RetentionTarget } from "./retention.js";
import { ringFileName } from "./ring-files.js";

const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pf-retention-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes ring files 0..count-1 of 1000 bytes, file i last written `count - i` hours before NOW. */
async function ring(count: number): Promise<string[]> {
  const paths: string[] = [];
  for (let seq = 0; seq < count; seq++) {
    const path = join(dir, ringFileName("eth0", NOW / 1000 - (count - seq) * 3600, seq));
    await writeFile(path, Buffer.alloc(1000));
    const mtime = (NOW - (count - seq) * HOUR) / 1000;
    await utimes(path, mtime, mtime);
    paths.push(path);
  }
  return paths;
}

/**
 * Test double of the filesystem probe (filling a real filesystem is not possible here): the
 * "used percent" is the bytes of ring files left in the directory, 10% per 1000 bytes.
 */
function diskFromRing(): (d: string) => Promise<number> {
  return async (d) => {
    const names = await readdir(d);
    return names.filter((name) => name.startsWith("eth0-")).length * 10;
  };
}

function logLines(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination: DestinationStream = { write: (line: string) => lines.push(line) };
  return { log: createLogger({ name: "test", level: "info", destination }), lines };
}

const target = (overrides: Partial<RetentionTarget>): RetentionTarget => ({
  dir,
  prefix: "eth0",
  maxDiskPercent: 100,
  maxAgeHours: undefined,
  openPaths: new Set(),
  ...overrides,
});

describe("createRetention", () => {
  it("deletes oldest first until the disk is under its limit, never the open file or foreign files", async () => {
    const paths = await ring(8); // 80% "used"
    await writeFile(join(dir, "foreign.pcap"), "not ours");
    await writeFile(join(dir, "eth1-20231114T221320Z-000000.pcap"), "another capture");
    const { log } = logLines();
    const retention = createRetention({
      isPinned: () => false,
      diskPercent: diskFromRing(),
      now: () => NOW,
      log,
    });
    const result = await retention.run(target({ maxDiskPercent: 45, openPaths: new Set([paths[7] ?? ""]) }));
    expect(result.deleted).toEqual(paths.slice(0, 4));
    expect(result.deletedBytes).toBe(4000);
    expect(result.overLimit).toBe(false);
    const left = (await readdir(dir)).sort();
    expect(left).toContain("foreign.pcap");
    expect(left).toContain("eth1-20231114T221320Z-000000.pcap");
    // Even a disk that stays full never costs the file being written.
    const full = createRetention({ isPinned: () => false, diskPercent: async () => 99, now: () => NOW, log });
    const rest = await full.run(target({ maxDiskPercent: 45, openPaths: new Set([paths[7] ?? ""]) }));
    expect(rest.deleted).toEqual(paths.slice(4, 7));
    expect(rest.overLimit).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(
      ["eth1-20231114T221320Z-000000.pcap", "foreign.pcap", (paths[7] ?? "").slice(dir.length + 1)].sort(),
    );
  });

  it("skips pinned files, deletes the next oldest instead, and logs a pin once", async () => {
    const paths = await ring(5);
    const pinned = new Set([paths[0], paths[2]]);
    const { log, lines } = logLines();
    const retention = createRetention({
      isPinned: (path) => pinned.has(path),
      diskPercent: diskFromRing(),
      now: () => NOW,
      log,
    });
    // 50% used, limit 15%: everything unpinned goes, and the pins keep the disk over its limit.
    const first = await retention.run(target({ maxDiskPercent: 15 }));
    expect(first.deleted).toEqual([paths[1], paths[3], paths[4]]);
    expect(first.pinnedSkipped).toEqual([paths[0], paths[2]]);
    expect(first.overLimit).toBe(true);
    const second = await retention.run(target({ maxDiskPercent: 15 }));
    expect(second).toMatchObject({ deleted: [], overLimit: true });
    expect(lines.filter((line) => line.includes("no more files it may delete"))).toHaveLength(1);
    const pinLogs = () => lines.filter((line) => line.includes("retention skips a pinned ring file"));
    expect(pinLogs()).toHaveLength(2);
    pinned.clear(); // the slice finished: the files go
    const last = await retention.run(target({ maxDiskPercent: 15 }));
    expect(last).toMatchObject({ deleted: [paths[0]], overLimit: false });
  });

  it("deletes files older than maxAgeHours, keeping pinned and younger ones", async () => {
    const paths = await ring(6); // newest packets 6h, 5h, ..., 1h ago
    const retention = createRetention({
      isPinned: (path) => path === paths[1],
      diskPercent: async () => 10,
      now: () => NOW,
      log: logLines().log,
    });
    const result = await retention.run(target({ maxAgeHours: 3.5 }));
    expect(result.deleted).toEqual([paths[0], paths[2]]);
    expect((await readdir(dir)).length).toBe(4);
    expect((await retention.run(target({}))).deleted).toEqual([]);
  });
});
