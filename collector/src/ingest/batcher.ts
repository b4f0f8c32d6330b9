/**
 * Groups single submissions into batches for one bulk write. A batch goes out when it reaches
 * `maxSize`, when `maxDelayMs` passed since its first item, or — under load — as soon as the
 * previous write finished: while a write runs, new items collect, so batches grow with the load
 * and each write's fixed cost (a transaction, a round trip per statement) is shared.
 */

/** Items settled before the event loop gets a turn: ~200 acks are a few ms of work. */
const settleSlice = 200;

/** Resolves on the event loop's next turn, after pending I/O callbacks. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The outcome of one item of a batch. */
export type Settled<R> =
  | { readonly ok: true; readonly value: R }
  | { readonly ok: false; readonly error: unknown };

/** Settings of {@link createBatcher}. */
export interface BatcherOptions<T, R> {
  /** Writes one batch and settles each item, in order (`results.length === items.length`). */
  readonly write: (items: readonly T[]) => Promise<Settled<R>[]>;
  /** Most items per batch. */
  readonly maxSize: number;
  /** Longest an item waits for company before its batch goes out anyway. */
  readonly maxDelayMs: number;
  /** Batches written at once. */
  readonly concurrency: number;
  /**
   * Items with the same key are never in two batches being written at once (nor reordered):
   * with concurrent writes, two heartbeats of one sensor could otherwise commit out of order.
   */
  readonly key?: (item: T) => string;
}

/** Collects items into batches; see {@link createBatcher}. */
export interface Batcher<T, R> {
  /** Queues `item`; resolves or rejects once its batch was written. */
  submit(item: T): Promise<R>;
  /** Writes everything queued and waits for writes in progress. */
  drain(): Promise<void>;
  /** Items waiting plus items being written. */
  readonly backlog: number;
  /**
   * Resolves once {@link backlog} is below `limit` (at once when it is), so a producer can stop
   * taking new work while the writer is behind instead of queueing without bound.
   */
  below(limit: number): Promise<void>;
}

interface Entry<T, R> {
  readonly item: T;
  readonly resolve: (value: R) => void;
  readonly reject: (error: unknown) => void;
}

/** Creates a batcher around `options.write`. */
export function createBatcher<T, R>(options: BatcherOptions<T, R>): Batcher<T, R> {
  const { write, maxSize, maxDelayMs, concurrency, key } = options;
  /** Keys of the items being written. */
  const busy = new Map<string, number>();
  let pending: Entry<T, R>[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running = 0;
  let writing = 0;
  /** Written batches whose items are still being settled. */
  let settling = 0;
  const idle: (() => void)[] = [];
  /** Producers waiting in `below(limit)`. */
  let roomWaiters: { readonly limit: number; readonly wake: () => void }[] = [];

  function wakeProducers(): void {
    if (roomWaiters.length === 0) return;
    const backlog = pending.length + writing;
    const still: typeof roomWaiters = [];
    for (const waiter of roomWaiters) {
      if (backlog < waiter.limit) waiter.wake();
      else still.push(waiter);
    }
    roomWaiters = still;
  }

  async function run(batch: Entry<T, R>[], keys: readonly string[]): Promise<void> {
    running += 1;
    writing += batch.length;
    for (const k of keys) busy.set(k, (busy.get(k) ?? 0) + 1);
    let results: Settled<R>[];
    try {
      results = await write(batch.map((entry) => entry.item));
    } catch (error) {
      results = batch.map((): Settled<R> => ({ ok: false, error }));
    }
    running -= 1;
    writing -= batch.length;
    for (const k of keys) {
      const left = (busy.get(k) ?? 1) - 1;
      if (left === 0) busy.delete(k);
      else busy.set(k, left);
    }
    // The next batch goes out before this one's items are settled: it is written, so later
    // items of its keys may follow, and the writer should not wait for the acks below.
    settling += 1;
    if (pending.length > 0) kick();
    wakeProducers();
    try {
      for (const [index, entry] of batch.entries()) {
        const result = results[index];
        if (result === undefined) entry.reject(new Error("batch writer returned too few results"));
        else if (result.ok) entry.resolve(result.value);
        else entry.reject(result.error);
        // What each settlement sets off (an ack encoded and written) runs as microtasks; in
        // slices, other work (a REST request, a Postgres answer) gets the event loop between.
        if (index % settleSlice === settleSlice - 1) await nextTurn();
      }
    } finally {
      settling -= 1;
      if (running === 0 && settling === 0 && pending.length === 0) for (const wake of idle.splice(0)) wake();
    }
  }

  function kick(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    while (running < concurrency && pending.length > 0) {
      const { batch, keys } = take();
      if (batch.length === 0) return; // every waiting item's key is being written
      void run(batch, keys);
    }
  }

  /** The next batch: up to maxSize items, skipping (and keeping in order) those whose key is busy. */
  function take(): { batch: Entry<T, R>[]; keys: string[] } {
    if (key === undefined || busy.size === 0) {
      const batch = pending.slice(0, maxSize);
      pending = pending.slice(batch.length);
      return { batch, keys: key === undefined ? [] : batch.map((entry) => key(entry.item)) };
    }
    const batch: Entry<T, R>[] = [];
    const keys: string[] = [];
    const left: Entry<T, R>[] = [];
    const blocked = new Set<string>();
    for (const entry of pending) {
      const k = key(entry.item);
      // Once one item of a key waits, later items of that key wait too, keeping their order.
      if (batch.length >= maxSize || busy.has(k) || blocked.has(k)) {
        blocked.add(k);
        left.push(entry);
      } else {
        batch.push(entry);
        keys.push(k);
      }
    }
    pending = left;
    return { batch, keys };
  }

  return {
    submit(item) {
      return new Promise<R>((resolve, reject) => {
        pending.push({ item, resolve, reject });
        if (pending.length >= maxSize) kick();
        else if (timer === undefined && running < concurrency) timer = setTimeout(kick, maxDelayMs);
      });
    },
    async drain() {
      if (pending.length > 0) kick();
      if (running === 0 && settling === 0) return;
      await new Promise<void>((resolve) => idle.push(resolve));
    },
    get backlog() {
      return pending.length + writing;
    },
    below(limit) {
      if (pending.length + writing < limit) return Promise.resolve();
      return new Promise<void>((wake) => roomWaiters.push({ limit, wake }));
    },
  };
}
