import {
  checkIncrement,
  checkTtl,
  defaultKvPrefix,
  deliver,
  type Kv,
  type KvOptions,
  kvClosed,
  type MessageHandler,
  notAnInteger,
  type Unsubscribe,
} from "./types.js";

/**
 * The in-process {@link Kv} used when no Redis is configured: one collector, so "shared"
 * state is just a Map. It mirrors Redis semantics, including what callers cannot see directly:
 * expiry is checked on every access (so a read never returns an expired value) and a periodic
 * sweep frees expired keys nobody reads; pub/sub delivers asynchronously, in publish order.
 */

interface Entry {
  value: string;
  /** Epoch milliseconds, or null for no expiry. */
  expiresAt: number | null;
}

/** Sweep period for expired keys; reads never depend on it. */
const defaultSweepMs = 1_000;

/**
 * The data and channels behind one or more memory Kv handles. Handles made from one store see
 * each other's keys (under their own prefixes) and messages, as clients of one Redis do; a
 * store made per handle (the default) is private to it.
 */
export class MemoryKvStore {
  private readonly entries = new Map<string, Entry>();
  /** Handlers per full channel name; a handler is keyed by a token so it can subscribe twice. */
  private readonly channels = new Map<string, Map<symbol, MessageHandler>>();
  private sweeper: NodeJS.Timeout | undefined;

  /** @param sweepMs how often expired keys are swept while any key has a TTL. */
  constructor(private readonly sweepMs: number = defaultSweepMs) {}

  /** Entries held, counting expired ones not yet swept; for tests and metrics. */
  get size(): number {
    return this.entries.size;
  }

  /** The live entry of `key`, dropping it first when it has expired. */
  read(key: string, now: number = Date.now()): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.expiresAt !== null && entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Stores `value` at `key` with an optional TTL, replacing any previous expiry. */
  write(key: string, value: string, ttlMs: number | undefined, now: number = Date.now()): void {
    this.entries.set(key, { value, expiresAt: ttlMs === undefined ? null : now + ttlMs });
    if (ttlMs !== undefined) this.startSweeper();
  }

  /** Deletes `key`; true when it held a live value. */
  remove(key: string): boolean {
    const live = this.read(key) !== undefined;
    this.entries.delete(key);
    return live;
  }

  /** Registers `handler` on `channel` and returns the token that removes it. */
  addHandler(channel: string, handler: MessageHandler): symbol {
    const token = Symbol(channel);
    let handlers = this.channels.get(channel);
    if (handlers === undefined) {
      handlers = new Map();
      this.channels.set(channel, handlers);
    }
    handlers.set(token, handler);
    return token;
  }

  /** Removes a handler registered by {@link MemoryKvStore.addHandler}. */
  removeHandler(channel: string, token: symbol): void {
    const handlers = this.channels.get(channel);
    handlers?.delete(token);
    if (handlers?.size === 0) this.channels.delete(channel);
  }

  /**
   * Queues `message` for the handlers subscribed now. Delivery happens on a later turn of the
   * event loop, as with Redis, and skips handlers that unsubscribed in between.
   */
  publish(
    channel: string,
    message: string,
    dispatch: (handler: MessageHandler, message: string) => void,
  ): void {
    const handlers = this.channels.get(channel);
    if (handlers === undefined) return;
    for (const [token, handler] of [...handlers]) {
      setImmediate(() => {
        if (this.channels.get(channel)?.get(token) === handler) dispatch(handler, message);
      });
    }
  }

  private startSweeper(): void {
    if (this.sweeper !== undefined) return;
    // unref: a pending sweep must never keep a process (or a test run) alive.
    this.sweeper = setInterval(() => this.sweep(), this.sweepMs).unref();
  }

  private sweep(): void {
    const now = Date.now();
    let expiring = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt === null) continue;
      if (entry.expiresAt <= now) this.entries.delete(key);
      else expiring += 1;
    }
    // Nothing left to expire: stop until the next write with a TTL.
    if (expiring === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}

/** Options of {@link createMemoryKv}. */
export interface MemoryKvOptions extends KvOptions {
  /** Share data and channels with other handles; a private store when absent. */
  readonly store?: MemoryKvStore;
}

/** Creates an in-process {@link Kv}. Synchronous to build; async methods match the Redis one. */
export function createMemoryKv(options: MemoryKvOptions = {}): Kv {
  const prefix = options.prefix ?? defaultKvPrefix;
  const store = options.store ?? new MemoryKvStore();
  const log = options.log;
  const subscriptions = new Map<symbol, string>();
  let closed = false;

  /** Runs one operation, refusing after close and turning throws into rejections. */
  async function op<T>(run: () => T): Promise<T> {
    if (closed) throw kvClosed("memory");
    return run();
  }

  return {
    kind: "memory",
    prefix,
    get: (key) => op(() => store.read(prefix + key)?.value ?? null),
    set: (key, value, setOptions = {}) =>
      op(() => {
        checkTtl(setOptions.ttlMs);
        if (setOptions.onlyIfAbsent === true && store.read(prefix + key) !== undefined) return false;
        store.write(prefix + key, value, setOptions.ttlMs);
        return true;
      }),
    del: (key) => op(() => store.remove(prefix + key)),
    incr: (key, incrOptions = {}) =>
      op(() => {
        const by = incrOptions.by ?? 1;
        checkIncrement(by);
        checkTtl(incrOptions.ttlMs);
        const entry = store.read(prefix + key);
        // Redis accepts only canonical integers ("+1", "01" and " 1" are not integers to it).
        if (entry !== undefined && !/^(0|-?[1-9]\d*)$/.test(entry.value)) throw notAnInteger(key);
        const next = (entry === undefined ? 0 : Number(entry.value)) + by;
        if (!Number.isSafeInteger(next)) throw notAnInteger(key);
        if (entry === undefined) store.write(prefix + key, String(next), incrOptions.ttlMs);
        else entry.value = String(next); // keeps the key's expiry, as INCRBY does
        return next;
      }),
    ttlMs: (key) =>
      op(() => {
        const expiresAt = store.read(prefix + key)?.expiresAt ?? null;
        return expiresAt === null ? null : Math.max(0, expiresAt - Date.now());
      }),
    publish: (channel, message) =>
      op(() =>
        store.publish(prefix + channel, message, (handler, text) => deliver(handler, text, channel, log)),
      ),
    subscribe: (channel, handler) =>
      op((): Unsubscribe => {
        const token = store.addHandler(prefix + channel, handler);
        subscriptions.set(token, prefix + channel);
        return async () => {
          store.removeHandler(prefix + channel, token);
          subscriptions.delete(token);
        };
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      for (const [token, channel] of subscriptions) store.removeHandler(channel, token);
      subscriptions.clear();
    },
  };
}
