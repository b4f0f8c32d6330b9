/**
 * A short-lived cache of `GET /sensors` pages. Dashboards poll the fleet list every few seconds
 * and a page of 1,000 sensors is one Postgres query of ~20 ms on the pool the ingest writer
 * uses; with the cache, requests for the same page within {@link PageCacheOptions.ttlMs} share
 * one query (also while it runs: single flight), so the page costs the database at most one
 * query per TTL however many clients poll.
 *
 * Staleness bound: an answer reflects the database as of at most `ttlMs` before it is sent
 * (the TTL counts from when the query *started*, so a slow query does not extend it). A status
 * change is therefore visible in `GET /sensors` within `ttlMs`; the per-sensor endpoints and
 * the WebSocket feed are not cached.
 */

/** Settings of {@link createPageCache}. */
export interface PageCacheOptions {
  /** How long a page is served from the cache, counted from its query's start; default 1,000 ms. */
  readonly ttlMs: number;
  /** Most pages kept; the oldest goes first when full. Default 256. */
  readonly maxEntries: number;
  /** Clock in ms, for tests. */
  readonly now: () => number;
}

/** A cache of values by key; see {@link createPageCache}. */
export interface PageCache<T> {
  /**
   * The value of `key`: the cached one while fresh (or its load still running), else what
   * `load()` gives, shared with every caller asking meanwhile. A failed load is not cached.
   */
  get(key: string, load: () => Promise<T>): Promise<T>;
  /** Drops every entry (a write that must show at once). */
  clear(): void;
  /** Entries held now, fresh or not. */
  readonly size: number;
}

interface Entry<T> {
  readonly value: Promise<T>;
  readonly expiresAt: number;
}

/** Creates a page cache; see the module comment. `ttlMs` must be 0–1,000 (0 disables it). */
export function createPageCache<T>(options: Partial<PageCacheOptions> = {}): PageCache<T> {
  const ttlMs = options.ttlMs ?? 1000;
  const maxEntries = Math.max(1, options.maxEntries ?? 256);
  const now = options.now ?? (() => performance.now());
  if (!(ttlMs >= 0 && ttlMs <= 1000)) throw new RangeError(`page cache TTL must be 0-1000 ms, got ${ttlMs}`);
  const entries = new Map<string, Entry<T>>();

  /** Drops expired entries, then the oldest while over the bound. */
  function prune(at: number): void {
    for (const [key, entry] of entries) if (entry.expiresAt <= at) entries.delete(key);
    while (entries.size >= maxEntries) {
      const oldest = entries.keys().next();
      if (oldest.done === true) break;
      entries.delete(oldest.value);
    }
  }

  return {
    get(key, load) {
      if (ttlMs === 0) return load();
      const at = now();
      const cached = entries.get(key);
      if (cached !== undefined && cached.expiresAt > at) return cached.value;
      if (cached !== undefined) entries.delete(key);
      prune(at);
      const value = load();
      const entry: Entry<T> = { value, expiresAt: at + ttlMs };
      entries.set(key, entry);
      // A failure reaches the callers sharing it, and the next request tries again.
      value.catch(() => {
        if (entries.get(key) === entry) entries.delete(key);
      });
      return value;
    },
    clear() {
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}
