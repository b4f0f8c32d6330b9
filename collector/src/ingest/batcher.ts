/**
 * Groups single submissions into batches for one bulk write. A batch goes out when it reaches
 * `maxSize`, when `maxDelayMs` passed since its first item, or — under load — as soon as the
 * previous write finished: while a write runs, new items collect, so batches grow with the load
 * and each write's fixed cost (a transaction, a round trip per statement) is shared.
 */

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
  const idle: (() => void)[] = [];

  async function run(batch: Entry<T, R>[], keys: readonly string[]): Promise<void> {
    running += 1;
    writing += batch.length;
    for (const k of keys) busy.set(k, (busy.get(k) ?? 0) + 1);
    try {
      const results = await write(batch.map((entry) => entry.item)).catch((error: unknown) =>
        batch.map((): Settled<R> => ({ ok: false, error })),
      );
      batch.forEach((entry, index) => {
        const result = results[index];
        if (result === undefined) entry.reject(new Error("batch writer returned too few results"));
        else if (result.ok) entry.resolve(result.value);
        else entry.reject(result.error);
      });
    } finally {
      running -= 1;
      writing -= batch.length;
      for (const k of keys) {
        const left = (busy.get(k) ?? 1) - 1;
        if (left === 0) busy.delete(k);
        else busy.set(k, left);
      }
      // Whatever collected meanwhile goes out now: waiting longer would only add latency.
      if (pending.length > 0) kick();
      else if (running === 0) for (const wake of idle.splice(0)) wake();
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
      if (running === 0) return;
      await new Promise<void>((resolve) => idle.push(resolve));
    },
    get backlog() {
      return pending.length + writing;
    },
  };
}
