import { createServer } from "node:net";
import { AppError, createLogger, ErrorCode, type Logger } from "@pcapfleet/core";
import { describe, expect, it } from "vitest";
import { MemoryKvStore } from "./memory.js";
import { openKv } from "./open.js";
import { createRedisKv } from "./redis.js";

function silentLogger(): Logger {
  return createLogger({ name: "test", level: "silent" });
}

/** A TCP port nothing listens on: bound once by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await new Promise<number>((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : 0);
    });
  });
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("createRedisKv", () => {
  it("fails fast as unavailable when nothing listens", async () => {
    const port = await closedPort();
    const started = Date.now();
    const outcome = await createRedisKv(`redis://:secret@127.0.0.1:${port}`, { prefix: "never:" }).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(outcome).toBeInstanceOf(AppError);
    const error = outcome as AppError;
    expect(error.code).toBe(ErrorCode.Unavailable);
    expect(error.message).toContain(`cannot connect to Redis at 127.0.0.1:${port}`);
    expect(error.message).not.toContain("secret");
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe("openKv", () => {
  it("uses the in-process store without a Redis URL", async () => {
    const kv = await openKv({ redisUrl: undefined, prefix: "open-test:", log: silentLogger() });
    expect(kv.kind).toBe("memory");
    expect(kv.prefix).toBe("open-test:");
    await kv.close();
  });

  // Registered only where the backend it needs is configured (CI runs both ways).
  if (process.env["REDIS_URL"]) {
    it("uses Redis when a URL is given", async () => {
      const kv = await openKv({
        redisUrl: process.env["REDIS_URL"],
        prefix: "open-test:",
        log: silentLogger(),
      });
      expect(kv.kind).toBe("redis");
      expect(await kv.ttlMs("never-written")).toBeNull();
      await kv.close();
    });
  }

  it("fails fast at start when the configured Redis is down", async () => {
    const port = await closedPort();
    const outcome = await openKv({ redisUrl: `redis://127.0.0.1:${port}`, log: silentLogger() }).catch(
      (reason: unknown) => reason,
    );
    expect((outcome as AppError).code).toBe(ErrorCode.Unavailable);
  });
});

describe("MemoryKvStore", () => {
  it("sweeps expired keys nobody reads", async () => {
    const store = new MemoryKvStore(20);
    store.write("a", "1", 30);
    store.write("b", "2", undefined);
    expect(store.size).toBe(2);
    await expect.poll(() => store.size, { timeout: 1_000, interval: 10 }).toBe(1);
    expect(store.read("b")?.value).toBe("2");
  });
});
