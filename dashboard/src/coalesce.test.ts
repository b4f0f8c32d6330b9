import { describe, expect, it } from "vitest";
import { createCoalescer } from "./coalesce.js";

/** A promise and its resolve/reject, to hold a flush open. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve = (): void => undefined;
  let reject = (_: Error): void => undefined;
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

/** Resolves after every timer queued before it (the coalescer uses a 0 ms delay here). */
const afterTimers = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

describe("createCoalescer", () => {
  it("flushes keys added together in one call, and never two flushes at once", async () => {
    const calls: string[][] = [];
    const gates = [deferred(), deferred()];
    const c = createCoalescer(0, (keys) => {
      calls.push([...keys]);
      return gates[calls.length - 1]?.promise ?? Promise.resolve();
    });
    c.add("a");
    c.add("b");
    c.add("a");
    await afterTimers();
    expect(calls).toEqual([["a", "b"]]);

    // While the first flush runs, new keys wait for it.
    c.add("c");
    c.add("d");
    await afterTimers();
    expect(calls).toHaveLength(1);
    gates[0]?.resolve();
    await afterTimers();
    expect(calls).toEqual([
      ["a", "b"],
      ["c", "d"],
    ]);

    // A rejected flush does not stop the next one.
    gates[1]?.reject(new Error("collector unreachable"));
    await afterTimers();
    c.add("e");
    await afterTimers();
    expect(calls).toEqual([["a", "b"], ["c", "d"], ["e"]]);
    c.close();
  });

  it("drops queued keys when closed", async () => {
    const calls: string[][] = [];
    const c = createCoalescer(0, async (keys) => {
      calls.push([...keys]);
    });
    c.add("a");
    c.close();
    c.add("b");
    await afterTimers();
    expect(calls).toEqual([]);
  });
});
