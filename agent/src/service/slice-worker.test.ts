/**
 * Slices in worker threads, over a real grpc-js server and client: the worker's reads stop on
 * a cancel before the files are unpinned, a worker that dies becomes a clean gRPC status, and
 * workers are reused. (Memory under a slow reader: slice-memory.test.ts, in a process of its own.)
 */
import { readFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { GrpcStatus } from "@pcapfleet/core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type FixedCatalogue,
  fixedCatalogue,
  indexRing,
  ns,
  type ServedCapture,
  START,
  serviceSuite,
  waitFor,
  writeRing,
} from "./service.test-support.js";

/** ~36 MB of output for the whole window: far more than the credits let the worker run ahead. */
const BIG = { seed: 6, packets: 40_000, ratePps: 2000, start: { sec: START, nsec: 0 } };
const WINDOW = { startNs: ns(START), endNs: ns(START + 100) };
const MIB = 1024 * 1024;

const suite = serviceSuite("pcapfleet-slice-worker-");
let big: FixedCatalogue;
let bigBytes = 0;
let served: ServedCapture;

beforeAll(async () => {
  await writeRing(join(suite.work, "big"), BIG, 3, ["nsec-le"]);
  await indexRing([join(suite.work, "big")], suite.stateDir);
  big = await fixedCatalogue([join(suite.work, "big")]);
  for (const file of big.files()) bigBytes += (await stat(file.path)).size;
  served = await suite.serve(big);
});

/** Bytes this process has read through read syscalls so far (every thread's, page cache included). */
function readChars(): number {
  const match = /^rchar:\s*(\d+)$/m.exec(readFileSync("/proc/self/io", "utf8"));
  return Number(match?.[1] ?? Number.NaN);
}

/** Reads a whole Slice call; returns the status code it failed with, or 0. */
async function statusOf(target: ServedCapture, taskId: string): Promise<number> {
  try {
    for await (const _ of target.client.slice({ taskId, window: WINDOW }).responses) {
      // Read to the end.
    }
    return 0;
  } catch (error) {
    return (error as { code: number }).code;
  }
}

describe("slices in worker threads", () => {
  it("a finished worker serves the next call: one thread for calls one after the other", async () => {
    expect(await statusOf(served, "first")).toBe(0);
    expect(served.workers.idle).toBe(1);
    expect(await statusOf(served, "second")).toBe(0);
    expect(served.workers.idle).toBe(1);
  });

  it("a cancel stops the worker's reads; its files are unpinned only after that", async () => {
    expect(bigBytes).toBeGreaterThan(30_000_000);
    // The catalogue notes, when the call unpins its files, whether the worker had stopped.
    let watched: ServedCapture | undefined;
    const atRelease: { idle: number; reads: number }[] = [];
    const catalogue: FixedCatalogue = Object.create(big, {
      pin: {
        value: (paths: readonly string[]) => {
          const release = big.pin(paths);
          return () => {
            atRelease.push({ idle: watched?.workers.idle ?? -1, reads: readChars() });
            release();
          };
        },
      },
    });
    watched = await suite.serve(catalogue);
    const controller = new AbortController();
    const call = watched.client.slice({ taskId: "cancelled", window: WINDOW }, { signal: controller.signal });
    const iterator = call.responses[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.kind.case).toBe("chunk");
    expect(big.pins.size).toBe(big.files().length);
    const before = readChars();
    controller.abort();
    await expect(iterator.next()).rejects.toMatchObject({ code: GrpcStatus.CANCELLED });
    expect(await waitFor(() => big.pins.size === 0 && watched.tasks.list().length === 0)).toBe(true);
    const [released] = atRelease;
    // When the files were unpinned, the worker had stopped and was back in the pool...
    expect(released?.idle).toBe(1);
    // ...held by its credits a few MiB ahead of the stream, it read little after the cancel...
    expect((released?.reads ?? Number.NaN) - before).toBeLessThan(8 * MIB);
    // ...and nothing after.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(readChars() - (released?.reads ?? Number.NaN)).toBeLessThan(MIB);
  });

  it("a worker that runs out of memory ends the call with INTERNAL and releases everything", async () => {
    const starved = await suite.serve(big, {
      // Too small a heap for the worker to even load its modules: it dies at start-up.
      workers: { resourceLimits: { maxOldGenerationSizeMb: 1, maxYoungGenerationSizeMb: 1 } },
    });
    const calls = big.pinCalls;
    expect(await statusOf(starved, "starved")).toBe(GrpcStatus.INTERNAL);
    expect(big.pinCalls).toBe(calls + 1);
    expect(await waitFor(() => big.pins.size === 0 && starved.tasks.list().length === 0)).toBe(true);
    expect(starved.workers.idle).toBe(0);
    const failed = starved.logs.find((line) => line["msg"] === "rpc failed");
    expect(JSON.stringify(failed?.["err"])).toMatch(/ERR_WORKER_OUT_OF_MEMORY|out of memory/i);
    const ended = starved.logs.find((line) => line["msg"] === "slice ended" && line["taskId"] === "starved");
    expect(ended?.["outcome"]).toBe("failed");
  });

  it("workers stopped mid-slice (shutdown) end the call with UNAVAILABLE", async () => {
    const closing = await suite.serve(big);
    const iterator = closing.client
      .slice({ taskId: "shutdown", window: WINDOW })
      .responses[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.kind.case).toBe("chunk");
    await closing.workers.close();
    let code = 0;
    try {
      while (!(await iterator.next()).done) {
        // What was sent before the stop.
      }
    } catch (error) {
      code = (error as { code: number }).code;
    }
    expect(code).toBe(GrpcStatus.UNAVAILABLE);
    expect(await waitFor(() => big.pins.size === 0 && closing.tasks.list().length === 0)).toBe(true);
    expect(await statusOf(closing, "after")).toBe(GrpcStatus.UNAVAILABLE);
  });
});
