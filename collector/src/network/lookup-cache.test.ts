import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbBackends, type ScratchDb, silentLogger } from "../db/testing.js";
import { kvBackends, type ScratchKv } from "../kv/testing.js";
import { eventually } from "../sensors/testing.js";
import { createLookupCache, type LocationLookup } from "./lookup-cache.js";
import { migrateNetwork } from "./testing.js";

const combos = dbBackends().flatMap((db) =>
  kvBackends().map((kv) => ({ name: `${db.name}+${kv.name}`, db, kv })),
);

describe.each(combos)("lookup cache on $name", ({ db, kv }) => {
  let scratch: ScratchDb;
  let kvScratch: ScratchKv;
  let clock = 0;
  const caches: LocationLookup[] = [];
  /** A cache as one collector has it: own database handle, own Kv handle on the shared store. */
  const collectorCache = async (options: { ttlMs?: number; maxEntries?: number } = {}) => {
    const cache = await createLookupCache({
      db: await scratch.openAnother(),
      kv: await kvScratch.open(),
      log: silentLogger(),
      ttlMs: options.ttlMs ?? 60_000,
      maxEntries: options.maxEntries ?? 1000,
      now: () => clock,
    });
    caches.push(cache);
    return cache;
  };
  const placeAt = async (location: string) => {
    await scratch.db.query("UPDATE subnet_location_map SET location = $1 WHERE prefix = '10.1.0.0/16'", [
      location,
    ]);
  };
  const locationOf = async (cache: LocationLookup, address = "10.1.2.3") =>
    (await cache.lookup([address])).get(address)?.matches[0]?.location;

  beforeAll(async () => {
    scratch = await db.create();
    kvScratch = await kv.create();
    await migrateNetwork(scratch.db);
    await scratch.db.query("INSERT INTO locations (name) VALUES ('a'), ('b'), ('c')");
    await scratch.db.query(
      "INSERT INTO subnet_location_map (prefix, location) VALUES ('10.1.0.0/16', 'a'), ('2001:db8::/32', 'a')",
    );
  });
  afterAll(async () => {
    for (const cache of caches) await cache.close();
    await kvScratch.drop();
    await scratch.drop();
  });

  it("serves repeated lookups from memory until a clear on any collector drops every cache", async () => {
    await placeAt("a");
    const one = await collectorCache();
    const two = await collectorCache();
    expect(await locationOf(one)).toBe("a");
    expect(await locationOf(two)).toBe("a");
    await placeAt("b");
    // Both still answer from their caches: the database is not asked again.
    expect(await locationOf(one)).toBe("a");
    expect(await locationOf(two)).toBe("a");
    expect(one.stats()).toMatchObject({ hits: 1, misses: 1, size: 1 });
    await two.clear();
    expect(await locationOf(two)).toBe("b");
    // The other collector hears the clear through Kv pub/sub.
    expect(await eventually(() => one.stats().clears > 0)).toBe(true);
    expect(await locationOf(one)).toBe("b");
  });

  it("expires entries after the TTL and keeps at most maxEntries, least recently used out first", async () => {
    await placeAt("a");
    const cache = await collectorCache({ ttlMs: 1000, maxEntries: 2 });
    expect(await locationOf(cache)).toBe("a");
    await placeAt("c");
    clock += 999;
    expect(await locationOf(cache)).toBe("a");
    clock += 2;
    expect(await locationOf(cache)).toBe("c");

    await cache.lookup(["2001:db8::1"]);
    await cache.lookup(["10.1.2.3"]); // most recently used
    await cache.lookup(["10.1.9.9"]); // evicts 2001:db8::1
    expect(cache.stats().size).toBe(2);
    const before = cache.stats().misses;
    await cache.lookup(["10.1.2.3", "10.1.9.9"]);
    expect(cache.stats().misses).toBe(before);
    await cache.lookup(["2001:DB8::1"]);
    expect(cache.stats().misses).toBe(before + 1);
  });
});
