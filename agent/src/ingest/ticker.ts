/**
 * A fixed-rate timer for heartbeats and the status snapshots they carry. Ticks keep to their
 * schedule (start + k * interval), so late timers do not drift; after a blocked event loop the
 * missed ticks are skipped rather than fired in a burst. Snapshots run beside the ticks, never
 * two at once, so a slow `status()` never delays or piles up heartbeats.
 */
import type { Logger } from "@pcapfleet/core";

/** A fixed-rate timer; see {@link createTicker}. */
export interface Ticker {
  /** First tick one interval from now. */
  start(intervalMs: number): void;
  /** Changes the interval; the next tick comes one new interval after the previous one. */
  change(intervalMs: number): void;
  stop(): void;
}

/** Creates a {@link Ticker} calling `onTick` at every tick. */
export function createTicker(onTick: () => void): Ticker {
  let timer: NodeJS.Timeout | undefined;
  let intervalMs = 0;
  let lastTickAt = 0;
  let nextTickAt = 0;
  let running = false;

  function schedule(at: number): void {
    clearTimeout(timer);
    nextTickAt = at;
    timer = setTimeout(fire, Math.max(0, at - Date.now()));
  }

  function fire(): void {
    if (!running) return;
    lastTickAt = nextTickAt;
    const next = lastTickAt + intervalMs;
    schedule(next > Date.now() ? next : Date.now() + intervalMs);
    onTick();
  }

  return {
    start(ms) {
      running = true;
      intervalMs = ms;
      lastTickAt = Date.now();
      schedule(lastTickAt + ms);
    },
    change(ms) {
      intervalMs = ms;
      if (running) schedule(Math.max(Date.now(), lastTickAt + ms));
    },
    stop() {
      running = false;
      clearTimeout(timer);
    },
  };
}

/** The latest finished snapshot of a slow producer; see {@link createSnapshots}. */
export interface Snapshots<T> {
  /** Starts a snapshot unless one is running. */
  refresh(): void;
  /** The newest finished snapshot, if any finished yet. */
  latest(): T | undefined;
}

/**
 * Runs `produce` on demand, at most once at a time, keeping the newest result. A failed
 * snapshot is logged and the previous one kept. `onDone` runs after every attempt.
 */
export function createSnapshots<T>(produce: () => Promise<T>, log: Logger, onDone: () => void): Snapshots<T> {
  let latest: T | undefined;
  let running = false;
  return {
    refresh() {
      if (running) return;
      running = true;
      // Through a promise, so a producer that throws synchronously is handled like a rejection.
      Promise.resolve()
        .then(produce)
        .then(
          (value) => {
            latest = value;
          },
          (error: unknown) =>
            log.warn({ err: error }, "status snapshot failed; heartbeats carry the previous one"),
        )
        .finally(() => {
          running = false;
          onDone();
        });
    },
    latest: () => latest,
  };
}
