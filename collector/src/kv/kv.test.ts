import { setTimeout as sleep } from "node:timers/promises";
import { AppError, ErrorCode } from "@pcapfleet/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { kvBackends, type ScratchKv } from "./testing.js";
import type { Kv } from "./types.js";

/** Resolves to what `promise` rejects with, asserting it is an AppError. */
async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const outcome = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(outcome).toBeInstanceOf(AppError);
  return outcome as AppError;
}

/** Subscribes and collects messages in arrival order. */
async function collect(kv: Kv, channel: string): Promise<{ messages: string[]; stop: () => Promise<void> }> {
  const messages: string[] = [];
  const stop = await kv.subscribe(channel, (message) => messages.push(message));
  return { messages, stop };
}

describe.each(kvBackends())("Kv on $name", (backend) => {
  let scratch: ScratchKv;
  let kv: Kv;
  beforeEach(async () => {
    scratch = await backend.create();
    kv = scratch.kv;
  });
  afterEach(() => scratch.drop());

  it("sets, gets and deletes", async () => {
    expect(kv.kind).toBe(backend.name);
    expect(await kv.get("missing")).toBeNull();
    expect(await kv.set("greeting", "hello")).toBe(true);
    expect(await kv.get("greeting")).toBe("hello");
    expect(await kv.set("greeting", "hello again")).toBe(true);
    expect(await kv.get("greeting")).toBe("hello again");
    expect(await kv.ttlMs("greeting")).toBeNull();
    expect(await kv.del("greeting")).toBe(true);
    expect(await kv.del("greeting")).toBe(false);
    expect(await kv.get("greeting")).toBeNull();
  });

  it("expires keys after their TTL", async () => {
    await kv.set("short", "lived", { ttlMs: 100 });
    expect(await kv.get("short")).toBe("lived");
    const remaining = await kv.ttlMs("short");
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThanOrEqual(100);
    await sleep(150);
    expect(await kv.get("short")).toBeNull();
    expect(await kv.ttlMs("short")).toBeNull();
    expect(await kv.del("short")).toBe(false);
  });

  it("clears a TTL when a key is set again without one", async () => {
    await kv.set("k", "1", { ttlMs: 100 });
    await kv.set("k", "2");
    await sleep(150);
    expect(await kv.get("k")).toBe("2");
  });

  it("writes onlyIfAbsent only when the key is absent or expired", async () => {
    expect(await kv.set("lock", "first", { onlyIfAbsent: true, ttlMs: 80 })).toBe(true);
    expect(await kv.set("lock", "second", { onlyIfAbsent: true })).toBe(false);
    expect(await kv.get("lock")).toBe("first");
    await sleep(130);
    expect(await kv.set("lock", "third", { onlyIfAbsent: true })).toBe(true);
    expect(await kv.get("lock")).toBe("third");
  });

  it("increments atomically under 200 concurrent calls from two clients", async () => {
    const other = await scratch.open();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? kv : other).incr("hits")),
    );
    expect(new Set(results).size).toBe(200);
    expect(Math.max(...results)).toBe(200);
    expect(await kv.get("hits")).toBe("200");
    expect(await kv.incr("hits", { by: -50 })).toBe(150);
    expect(await kv.incr("fresh", { by: 7 })).toBe(7);
  });

  it("sets an incr TTL only when the call creates the key", async () => {
    expect(await kv.incr("window", { ttlMs: 120 })).toBe(1);
    await sleep(60);
    expect(await kv.incr("window", { ttlMs: 120 })).toBe(2);
    const remaining = await kv.ttlMs("window");
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThanOrEqual(65);
    await sleep(100);
    expect(await kv.get("window")).toBeNull();
    expect(await kv.incr("window", { ttlMs: 120 })).toBe(1);
    await kv.set("plain", "5");
    expect(await kv.incr("plain")).toBe(6);
    expect(await kv.ttlMs("plain")).toBeNull();
  });

  it("rejects bad counters and TTLs as invalid_argument", async () => {
    await kv.set("word", "abc");
    expect((await rejection(kv.incr("word"))).code).toBe(ErrorCode.InvalidArgument);
    await kv.set("padded", "01");
    expect((await rejection(kv.incr("padded"))).code).toBe(ErrorCode.InvalidArgument);
    expect((await rejection(kv.incr("n", { by: 1.5 }))).code).toBe(ErrorCode.InvalidArgument);
    for (const ttlMs of [0, -1, 1.5]) {
      expect((await rejection(kv.set("t", "v", { ttlMs }))).code).toBe(ErrorCode.InvalidArgument);
    }
    expect(await kv.get("word")).toBe("abc");
  });

  it("delivers published messages in order until unsubscribed", async () => {
    const other = await scratch.open();
    const first = await collect(other, "events");
    const second = await collect(other, "events");
    for (const n of [1, 2, 3, 4, 5]) await kv.publish("events", `m${n}`);
    await expect.poll(() => first.messages.length).toBe(5);
    await expect.poll(() => second.messages.length).toBe(5);
    expect(first.messages).toEqual(["m1", "m2", "m3", "m4", "m5"]);

    await first.stop();
    await kv.publish("events", "m6");
    await expect.poll(() => second.messages.length).toBe(6);
    expect(first.messages).toHaveLength(5);
    await second.stop();
    await kv.publish("events", "m7");
    await sleep(50);
    expect(second.messages).toHaveLength(6);
  });

  it("keeps delivering to other handlers when one throws", async () => {
    await kv.subscribe("fragile", () => {
      throw new Error("handler bug");
    });
    const healthy = await collect(kv, "fragile");
    await kv.publish("fragile", "still here");
    await expect.poll(() => healthy.messages).toEqual(["still here"]);
  });

  it("isolates keys and channels by prefix", async () => {
    const other = await scratch.open("other");
    expect(other.prefix).not.toBe(kv.prefix);
    await kv.set("shared-name", "mine");
    await other.set("shared-name", "theirs");
    expect(await kv.get("shared-name")).toBe("mine");
    expect(await other.get("shared-name")).toBe("theirs");
    await other.del("shared-name");
    expect(await kv.get("shared-name")).toBe("mine");

    const theirs = await collect(other, "news");
    const mine = await collect(kv, "news");
    await kv.publish("news", "for me");
    await expect.poll(() => mine.messages).toEqual(["for me"]);
    await sleep(50);
    expect(theirs.messages).toEqual([]);
  });

  it("refuses work after close as unavailable", async () => {
    const own = await scratch.open("closing");
    await own.close();
    expect((await rejection(own.get("k"))).code).toBe(ErrorCode.Unavailable);
    expect((await rejection(own.publish("c", "m"))).code).toBe(ErrorCode.Unavailable);
    await own.close();
  });
});
