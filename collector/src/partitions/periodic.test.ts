import { createLogger } from "@pcapfleet/core";
import { describe, expect, it } from "vitest";
import { createPeriodic } from "./periodic.js";

const capturingLog = () => {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    name: "t",
    level: "info",
    destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { log, lines };
};

async function waitFor(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("createPeriodic", () => {
  it("runs at start and every interval, one run at a time, and stop waits for the run in progress", async () => {
    const { log } = capturingLog();
    let runs = 0;
    let active = 0;
    let overlapped = false;
    const periodic = createPeriodic({
      run: async () => {
        runs += 1;
        active += 1;
        if (active > 1) overlapped = true;
        // Slower than the interval: ticks queue behind the run instead of overlapping it.
        await new Promise((resolve) => setTimeout(resolve, 15));
        active -= 1;
      },
      intervalMs: 5,
      log,
      failure: "t: run failed",
    });
    periodic.start();
    periodic.start();
    expect(runs).toBe(0);
    await waitFor("three runs", () => runs >= 3);
    await periodic.stop();
    expect(active).toBe(0);
    expect(overlapped).toBe(false);
    const after = runs;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(runs).toBe(after);
  });

  it("logs a failed run and keeps the schedule going", async () => {
    const { log, lines } = capturingLog();
    let runs = 0;
    const periodic = createPeriodic({
      run: async () => {
        runs += 1;
        if (runs === 1) throw new Error("db down");
      },
      intervalMs: 5,
      log,
      failure: "t: run failed",
    });
    periodic.start();
    await waitFor("a run after the failure", () => runs >= 2);
    await periodic.stop();
    expect(lines.filter((line) => line["msg"] === "t: run failed")).toEqual([
      expect.objectContaining({ level: 50, err: expect.objectContaining({ message: "db down" }) }),
    ]);
  });
});
