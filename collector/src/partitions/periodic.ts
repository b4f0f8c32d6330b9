/**
 * A maintenance task run at start and then every interval: the shape shared by the partition
 * manager and the offline sweeper. Runs are chained, so a slow run is never overlapped by the
 * next one, and a failed run is logged, never thrown: the next tick tries again.
 */
import type { Logger } from "@pcapfleet/core";

/** Options of {@link createPeriodic}. */
export interface PeriodicOptions {
  /** One run; its result is ignored. */
  readonly run: () => Promise<unknown>;
  /** Time between the starts of two ticks. */
  readonly intervalMs: number;
  readonly log: Logger;
  /** The log message of a failed run, e.g. "sweeper: sweep failed". */
  readonly failure: string;
}

/** Start and stop of a {@link createPeriodic} task. */
export interface Periodic {
  /** Runs now and then every interval; a second call does nothing. */
  start(): void;
  /** Stops the schedule and resolves once the run in progress (if any) has ended. */
  stop(): Promise<void>;
}

/** Creates the schedule of `options.run`; nothing runs until `start()`. */
export function createPeriodic(options: PeriodicOptions): Periodic {
  const { run, intervalMs, log, failure } = options;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const scheduled = (): void => {
    running = running.then(run).catch((error: unknown) => log.error({ err: error }, failure));
  };
  return {
    start() {
      if (timer !== undefined) return;
      scheduled();
      // unref: the schedule alone must not keep the process alive.
      timer = setInterval(scheduled, intervalMs).unref();
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
