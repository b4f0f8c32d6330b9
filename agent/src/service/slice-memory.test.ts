/**
 * A slow reader must not make the server's memory grow with the output: the worker's credits
 * hold it a few MiB ahead of what the stream has taken. Measured as the process's resident set,
 * in a file of its own: the allocator keeps freed memory mapped, so RSS only shows a high-water
 * mark, and any earlier slice running far ahead would already have raised it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { beforeAll, describe, expect, it } from "vitest";
import {
  fixedCatalogue,
  indexRing,
  ns,
  type ServedCapture,
  START,
  serviceSuite,
  waitFor,
  writeRing,
} from "./service.test-support.js";

/** ~70 MB of output for the whole window. */
const BIG = { seed: 7, packets: 80_000, ratePps: 4000, start: { sec: START, nsec: 0 } };
const MIB = 1024 * 1024;

const suite = serviceSuite("pcapfleet-slice-memory-");
let served: ServedCapture;

beforeAll(async () => {
  await writeRing(join(suite.work, "big"), BIG, 3, ["nsec-le"]);
  await indexRing([join(suite.work, "big")], suite.stateDir);
  served = await suite.serve(await fixedCatalogue([join(suite.work, "big")]));
});

/** Resident set size of this process (every thread's memory). */
function rss(): number {
  const match = /^VmRSS:\s*(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
  return Number(match?.[1] ?? Number.NaN) * 1024;
}

/** V8's full GC of this thread, so RSS shows live memory rather than garbage not yet collected. */
function fullGc(): void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  setFlagsFromString("--no-expose-gc");
  gc();
}

describe("memory under a slow reader", () => {
  it("stays within a few MiB of the baseline while a 70 MB output goes through", async () => {
    // A slice of a few packets starts the worker (then pooled), so its own memory is in the baseline.
    for await (const _ of served.client.slice({ window: { startNs: ns(START), endNs: ns(START, 5_000_000) } })
      .responses) {
      // Read to the end.
    }
    expect(served.workers.idle).toBe(1);
    // The ring's generation left garbage whose pages V8 unmaps lazily: let that settle first.
    for (let i = 0; i < 3; i++) {
      fullGc();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const baseline = rss();
    let received = 0;
    let worst = 0;
    let ahead = 0;
    const window = { startNs: ns(START), endNs: ns(START + 100) };
    for await (const message of served.client.slice({ taskId: "slow", window }).responses) {
      if (message.kind.case !== "chunk") continue;
      received += message.kind.value.data.length;
      // Every 16 chunks (4 MiB) the reader stalls: unthrottled, the worker would slice the
      // whole ring into the server's memory during the first stall.
      if (received % (16 * 256 * 1024) === 0) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        fullGc();
        worst = Math.max(worst, rss() - baseline);
        ahead = Math.max(ahead, Number(served.tasks.list()[0]?.bytesDone ?? 0n) - received);
      }
    }
    expect(received).toBeGreaterThan(65_000_000);
    // The worker was ahead of the reader (else the bounds below say nothing)...
    expect(ahead).toBeGreaterThan(2 * MIB);
    // ...by no more than its credits and the stream's buffers (HTTP/2 windows, the client's
    // unread messages: about 13 MiB), and memory stayed far below the output (without credits:
    // 49 MiB ahead, RSS +53 MiB).
    expect(ahead).toBeLessThan(20 * MIB);
    expect(worst).toBeLessThan(28 * MIB);
    expect(await waitFor(() => served.tasks.list().length === 0)).toBe(true);
  });
});
