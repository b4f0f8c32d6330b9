/**
 * Batching of live updates: a running task reports progress every second, and a job with many
 * sensors would otherwise cost one refetch per event. Keys added within `delayMs` are flushed in
 * one call, and never while the previous flush is still running, so a slow collector is not
 * sent overlapping requests for the same job.
 */

/** A batcher made by {@link createCoalescer}. */
export interface Coalescer {
  /** Queues a key for the next flush. */
  add(key: string): void;
  /** Drops queued keys and stops flushing (the page went away). */
  close(): void;
}

/**
 * Calls `flush` with the keys added since the last call, `delayMs` after the first of them; a
 * flush that rejects is the callback's business (it is not retried).
 */
export function createCoalescer(
  delayMs: number,
  flush: (keys: ReadonlySet<string>) => Promise<void>,
): Coalescer {
  let pending = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let closed = false;

  const schedule = (): void => {
    if (closed || running || timer !== undefined || pending.size === 0) return;
    timer = setTimeout(() => void run(), delayMs);
  };

  const run = async (): Promise<void> => {
    timer = undefined;
    const keys = pending;
    pending = new Set();
    running = true;
    try {
      await flush(keys);
    } catch {
      // The callback reports its own failures; a rejected flush must not stop later ones.
    } finally {
      running = false;
      schedule();
    }
  };

  return {
    add(key) {
      if (closed) return;
      pending.add(key);
      schedule();
    },
    close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      pending.clear();
    },
  };
}
