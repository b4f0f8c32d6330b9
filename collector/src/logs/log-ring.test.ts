import { createLogger } from "@pcapfleet/core";
import { describe, expect, it } from "vitest";
import { createLogRing } from "./log-ring.js";

describe("log ring", () => {
  it("keeps the newest lines of a real logger, redacted, filtered by level, text and time", () => {
    const ring = createLogRing(5);
    const log = createLogger({ name: "collector", level: "debug", destination: ring });
    log.debug("debug line");
    log.info({ password: "hunter2" }, "user created");
    log.warn({ sensor: "s1" }, "sensor degraded");
    log.error("disk failure");
    const all = ring.recent();
    expect(all.map((line) => line.msg)).toEqual([
      "debug line",
      "user created",
      "sensor degraded",
      "disk failure",
    ]);
    expect(all[1]?.["password"]).toBe("[redacted]");
    expect(all[2]).toMatchObject({ level: "warn", sensor: "s1", name: "collector" });
    expect(ring.recent({ level: "warn" }).map((line) => line.msg)).toEqual([
      "sensor degraded",
      "disk failure",
    ]);
    expect(ring.recent({ contains: "SENSOR" }).map((line) => line.msg)).toEqual(["sensor degraded"]);
    expect(ring.recent({ limit: 1 }).map((line) => line.msg)).toEqual(["disk failure"]);
    expect(ring.recent({ since: new Date(Date.now() + 60_000) })).toEqual([]);
  });

  it("drops the oldest lines beyond its bounds and skips lines that are not JSON", () => {
    const ring = createLogRing(3, 1_000_000);
    for (let i = 0; i < 10; i++) ring.write(`${JSON.stringify({ level: 30, time: 1, msg: `m${i}` })}\n`);
    ring.write("garbage\n");
    expect(ring.size()).toBe(3);
    expect(ring.recent().map((line) => line.msg)).toEqual(["m8", "m9"]);
    const small = createLogRing(100, 200);
    for (let i = 0; i < 20; i++) small.write(`${JSON.stringify({ level: 30, time: 1, msg: `line ${i}` })}\n`);
    expect(small.size()).toBeLessThan(20);
    expect(small.recent().at(-1)?.msg).toBe("line 19");
  });
});
