import { constants, PerformanceObserver } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { restoreHeapHeadroom } from "./exit-headroom.js";

/** Kinds of the GCs run by `action`, from Node's own GC performance entries. */
async function gcKinds(action: () => void): Promise<number[]> {
  const kinds: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      kinds.push((entry as unknown as { detail: { kind: number } }).detail.kind);
  });
  observer.observe({ entryTypes: ["gc"] });
  action();
  // GC entries are delivered asynchronously.
  const deadline = Date.now() + 2000;
  while (kinds.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  observer.disconnect();
  return kinds;
}

describe("restoreHeapHeadroom", () => {
  it("runs a full mark-compact GC (what resets V8's external-memory count)", async () => {
    const kinds = await gcKinds(restoreHeapHeadroom);
    expect(kinds).toContain(constants.NODE_PERFORMANCE_GC_MAJOR);
  });

  it("leaves no global gc behind and works again", async () => {
    const before = typeof (globalThis as { gc?: unknown }).gc;
    restoreHeapHeadroom();
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe(before);
    expect(await gcKinds(restoreHeapHeadroom)).toContain(constants.NODE_PERFORMANCE_GC_MAJOR);
  });
});
