/**
 * Test helpers of the query suites that write their own stores: a temporary directory per
 * suite, and generated traffic as format fixture packets.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import type { FixturePacket } from "../format/fixtures.js";
import { generateTraffic } from "../synth/traffic.js";

/** A suite's temporary directory; see {@link suiteDir}. */
export interface SuiteDir {
  /** The directory (made before the suite's tests, removed after them). */
  readonly path: string;
}

/**
 * Registers, in the calling file, a beforeAll that makes a temporary directory named from
 * `prefix` and an afterAll that removes it.
 */
export function suiteDir(prefix: string): SuiteDir {
  let path = "";
  beforeAll(async () => {
    path = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (path !== "") await rm(path, { recursive: true, force: true });
  });
  return {
    get path() {
      return path;
    },
  };
}

/** `count` generated packets at 200 pps from second `sec` (seeded: the same every run). */
export function traffic(seed: number, count: number, sec: number): FixturePacket[] {
  return [...generateTraffic({ seed, packets: count, ratePps: 200, start: { sec, nsec: 0 } })].map((p) => ({
    data: p.data,
    tsSec: p.tsSec,
    tsNsec: p.tsNsec,
    origLen: p.origLen,
  }));
}
