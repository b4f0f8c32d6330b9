/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
 * Jitter"): the n-th retry waits a uniformly random time in [0, min(max, initial * 2^n)).
 * Full jitter spreads a fleet of agents that lost the same collector at the same moment, so
 * they do not all redial it in lockstep when it comes back.
 */

/** Bounds of a {@link Backoff}. */
export interface BackoffOptions {
  /** Cap of the first delay. */
  readonly initialMs: number;
  /** Cap no delay exceeds. */
  readonly maxMs: number;
  /** Uniform random number in [0, 1); `Math.random` by default. */
  readonly random?: () => number;
}

/** One step of a {@link Backoff}. */
export interface BackoffStep {
  /** 1 for the first retry after a success (or the start). */
  readonly attempt: number;
  /** Upper bound of this step's delay. */
  readonly capMs: number;
  /** How long to wait before this retry. */
  readonly delayMs: number;
}

/** Delays between retries; `reset()` after a success. */
export interface Backoff {
  /** The delay before the next retry; every call counts one more failed attempt. */
  next(): BackoffStep;
  /** Starts over at the initial cap. */
  reset(): void;
}

/** Creates a full-jitter exponential {@link Backoff}. */
export function createBackoff(options: BackoffOptions): Backoff {
  const random = options.random ?? Math.random;
  const initialMs = Math.max(1, options.initialMs);
  const maxMs = Math.max(initialMs, options.maxMs);
  let attempt = 0;
  return {
    next() {
      attempt += 1;
      // 2 ** 30 already exceeds any sensible max; clamping the exponent avoids Infinity.
      const capMs = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
      return { attempt, capMs, delayMs: Math.floor(random() * capMs) };
    },
    reset() {
      attempt = 0;
    },
  };
}
