import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbBackends, type ScratchDb } from "../db/testing.js";
import { beat, startIngest, type TestClock, testClock } from "../ingest/testing.js";
import { kvBackends, type ScratchKv } from "../kv/testing.js";
import { createSensorRoutes } from "../routes/sensor-routes.js";
import { fleetStart, ingestTestFleet } from "./fleet-testing.js";
import { createPageCache } from "./page-cache.js";
import { createSensorQueries, type SensorQueries } from "./queries.js";
import { migrateCore } from "./testing.js";

const memoryKv = kvBackends({}).find((kv) => kv.name === "memory");

interface Listed {
  sensors: { name: string; status: string }[];
  next_after: string | null;
}

describe.each(dbBackends())("GET /sensors page cache on $name", (backend) => {
  let scratch: ScratchDb;
  let scratchKv: ScratchKv;
  let clock: TestClock;
  /** The cache's clock (ms), moved by the tests. */
  let cacheMs = 0;
  let queries = 0;
  let get: (path: string) => Promise<Listed>;

  beforeAll(async () => {
    if (memoryKv === undefined) throw new Error("no in-process kv backend");
    scratch = await backend.create();
    scratchKv = await memoryKv.create();
    await migrateCore(scratch.db);
    clock = testClock(fleetStart);
    await ingestTestFleet(scratch.db, scratchKv.kv, clock);
    // The real queries on the real database, counting the page queries that reach it.
    const real = createSensorQueries({ db: scratch.db });
    const counted: SensorQueries = {
      ...real,
      listSensorsPage: (filter) => {
        queries += 1;
        return real.listSensorsPage(filter);
      },
    };
    const { routes } = createSensorRoutes({
      queries: counted,
      pageCache: createPageCache({ ttlMs: 1000, now: () => cacheMs }),
    });
    get = async (path) => {
      const res = await routes.request(path);
      expect(res.status, path).toBe(200);
      return (await res.json()) as Listed;
    };
  });
  afterAll(async () => {
    await scratchKv?.drop();
    await scratch?.drop();
  });

  it("answers two requests within the TTL with one query, and queries afresh after it", async () => {
    const before = queries;
    const first = await get("/sensors");
    cacheMs += 999;
    const second = await get("/sensors");
    expect(second).toEqual(first);
    expect(queries - before).toBe(1);
    cacheMs += 1;
    expect(await get("/sensors")).toEqual(first);
    expect(queries - before).toBe(2);
  });

  it("shares one query between concurrent requests (single flight)", async () => {
    cacheMs += 5000;
    const before = queries;
    const answers = await Promise.all([
      get("/sensors?limit=2"),
      get("/sensors?limit=2"),
      get("/sensors?limit=2"),
    ]);
    expect(queries - before).toBe(1);
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[0]?.sensors.map((s) => s.name)).toEqual(["a1", "a2"]);
  });

  it("keeps different queries apart", async () => {
    cacheMs += 5000;
    const before = queries;
    const paris = await get("/sensors?location=paris");
    const berlin = await get("/sensors?location=berlin");
    const offline = await get("/sensors?status=offline");
    const page2 = await get("/sensors?limit=2&after=a2");
    const all = await get("/sensors?limit=1000");
    expect(queries - before).toBe(5);
    expect(paris.sensors.map((s) => s.name)).toEqual(["a1", "a2"]);
    expect(berlin.sensors.map((s) => s.name)).toEqual(["b1"]);
    expect(offline.sensors.map((s) => s.name)).toEqual(["b1"]);
    expect(page2.sensors.map((s) => s.name)).toEqual(["b1"]);
    expect(all.sensors.map((s) => s.name)).toEqual(["a1", "a2", "b1"]);
    // `limit=1000` is the default: the same page as no query, and the same cache entry.
    expect(await get("/sensors")).toEqual(all);
    expect(queries - before).toBe(5);
  });

  it("shows a status change once the TTL has passed, never later", async () => {
    cacheMs += 5000;
    const status = async () => (await get("/sensors")).sensors.find((s) => s.name === "a1")?.status;
    expect(await status()).toBe("online");
    const ingest = await startIngest(scratch.db, scratchKv.kv, clock);
    try {
      const agent = ingest.open();
      clock.ms += 10_000;
      await agent.send(beat("a1", clock, { sequence: 5, location: "paris", diskUsedPercent: 98 }));
      agent.end();
    } finally {
      await ingest.close();
    }
    // Stored as degraded; the cached page may still say online until its TTL is over...
    cacheMs += 500;
    expect(await status()).toBe("online");
    // ...and no longer: the bound is the TTL from the query's start.
    cacheMs += 500;
    expect(await status()).toBe("degraded");
  });
});

describe("page cache", () => {
  it("does not keep a failed load, and holds at most maxEntries pages", async () => {
    let ms = 0;
    const cache = createPageCache<string>({ ttlMs: 1000, maxEntries: 3, now: () => ms });
    await expect(cache.get("k", () => Promise.reject(new Error("database down")))).rejects.toThrow(
      "database down",
    );
    expect(await cache.get("k", async () => "fresh")).toBe("fresh");
    for (const key of ["a", "b", "c", "d", "e"]) await cache.get(key, async () => key);
    expect(cache.size).toBeLessThanOrEqual(3);
    ms += 1000;
    await cache.get("f", async () => "f");
    expect(cache.size).toBe(1);
    expect(() => createPageCache({ ttlMs: 5000 })).toThrow(/TTL/);
  });
});
