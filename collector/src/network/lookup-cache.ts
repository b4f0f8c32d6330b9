/**
 * The collector's cache of map lookups (the seed's "location cache"): in-process, because a
 * lookup is one small query while a Redis round trip per address would cost about as much, and
 * an entry is a few hundred bytes. Entries live `ttlMs`, the least recently used go first beyond
 * `maxEntries`. `clear()` empties this collector's cache and, through Kv pub/sub, every other
 * collector's: the clear-cache endpoint, manual map edits and the learner's changes call it.
 */
import type { Logger } from "@pcapfleet/core";
import type { Queryable } from "../db/index.js";
import type { Kv, Unsubscribe } from "../kv/index.js";
import { parsePrefix } from "./cidr.js";
import { addressKey, type LookupResult, lookupAddresses } from "./lookup.js";

/** The pub/sub channel whose every message clears every collector's cache. */
export const lookupCacheChannel = "network:lookup-cache:clear";

/** Counters of one collector's cache. */
export interface LookupCacheStats {
  readonly size: number;
  readonly hits: number;
  readonly misses: number;
  /** Times this collector's cache was emptied (its own clears and other collectors'). */
  readonly clears: number;
}

/** A cached {@link lookupAddresses}. */
export interface LocationLookup {
  /**
   * The map's answer for each address (keys as {@link addressKey}); misses are looked up in one
   * query.
   *
   * @throws AppError `invalid_argument` for an address that does not parse.
   */
  lookup(addresses: readonly string[]): Promise<Map<string, LookupResult>>;
  /** Empties this cache and tells every other collector to empty theirs. */
  clear(): Promise<void>;
  stats(): LookupCacheStats;
  /** Stops listening for clears. */
  close(): Promise<void>;
}

/** Dependencies and settings of {@link createLookupCache}. */
export interface LookupCacheOptions {
  readonly db: Queryable;
  readonly kv: Kv;
  readonly log: Logger;
  readonly ttlMs: number;
  readonly maxEntries: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

interface Entry {
  readonly result: LookupResult;
  readonly expiresAt: number;
}

/** Creates the cache and subscribes to clears; resolves once the subscription is active. */
export async function createLookupCache(options: LookupCacheOptions): Promise<LocationLookup> {
  const { db, kv, log, ttlMs, maxEntries } = options;
  const now = options.now ?? Date.now;
  // Map order is insertion order: re-inserting on a hit keeps the least recently used first.
  const entries = new Map<string, Entry>();
  let hits = 0;
  let misses = 0;
  let clears = 0;
  // A lookup that started before a clear must not store what it read from the old map.
  let generation = 0;
  const emptyLocal = (): void => {
    entries.clear();
    generation += 1;
    clears += 1;
  };
  const unsubscribe: Unsubscribe = await kv.subscribe(lookupCacheChannel, () => {
    emptyLocal();
    log.debug("network: lookup cache cleared by another collector");
  });

  return {
    async lookup(addresses) {
      const keys = [...new Set(addresses.map((a) => addressKey(parsePrefix(a, "address"))))];
      const out = new Map<string, LookupResult>();
      const missing: string[] = [];
      const at = now();
      for (const key of keys) {
        const entry = entries.get(key);
        if (entry !== undefined && entry.expiresAt > at) {
          entries.delete(key);
          entries.set(key, entry);
          out.set(key, entry.result);
          hits += 1;
        } else {
          if (entry !== undefined) entries.delete(key);
          missing.push(key);
          misses += 1;
        }
      }
      if (missing.length === 0) return out;
      const startedIn = generation;
      const fetched = await lookupAddresses(db, missing);
      for (const [key, result] of fetched) {
        out.set(key, result);
        if (generation !== startedIn) continue;
        entries.set(key, { result, expiresAt: now() + ttlMs });
        while (entries.size > maxEntries) {
          const oldest = entries.keys().next();
          if (oldest.done === true) break;
          entries.delete(oldest.value);
        }
      }
      return out;
    },
    async clear() {
      emptyLocal();
      await kv.publish(lookupCacheChannel, String(now()));
    },
    stats: () => ({ size: entries.size, hits, misses, clears }),
    close: () => unsubscribe(),
  };
}
