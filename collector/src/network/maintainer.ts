/**
 * The network map's background work, at start and then every `intervalS`: recompute the
 * rollups of the hours ingest marked, learn the map from them (`learn.ts`), re-attribute recent
 * flows when the map changed, prune rollups past the raw table's retention. The work is a series
 * of short transactions (a location's hour, an hour of flows, a table's prune: ADR 0016), so no
 * statement holds the database for long. Several collectors may run it: each transaction first
 * tries a transaction-level advisory lock and, when another collector holds it, this run stops
 * there (that collector is doing the same work; hours left half done are marked again). When
 * the learner changed the map, `onMapChange` runs (the lookup caches of every collector are
 * cleared).
 */
import type { Logger } from "@pcapfleet/core";
import type { Db, Queryable } from "../db/index.js";
import { createPeriodic } from "../partitions/periodic.js";
import { type LearnReport, type LearnRule, learn, learnSince } from "./learn.js";
import { claimHours, type MaintenanceStep, pruneRollups, reattributeFlows, rollUpHours } from "./rollup.js";

/**
 * Key of the advisory lock of the network maintenance: an arbitrary constant beside the
 * migration and partition locks', below 2^53 so it survives as a JS number.
 */
export const networkLockKey = 7_261_524_117_280_307;

/** Dependencies and settings of {@link createNetworkMaintainer}. */
export interface NetworkMaintainerOptions {
  readonly db: Db;
  readonly log: Logger;
  readonly rule: LearnRule;
  /** Seconds between runs. */
  readonly intervalS: number;
  /** Days `subnet_traffic` keeps (partitions config): rollups keep as long. */
  readonly retentionDays: number;
  /** Called after a run that changed the map. */
  readonly onMapChange?: () => Promise<void>;
  /** Clock, for tests. */
  readonly now?: () => Date;
}

/** What one {@link NetworkMaintainer.runOnce} did; `skipped` when another collector held the lock. */
export interface MaintenanceReport {
  readonly skipped: boolean;
  /** Hours whose rollups were recomputed. */
  readonly hours: number;
  readonly learned: LearnReport;
  /** Rollup rows deleted past retention. */
  readonly pruned: number;
}

/** Runs the rollups and the learner; see {@link createNetworkMaintainer}. */
export interface NetworkMaintainer {
  /** One run: every marked hour (in chunks), then learning and pruning. */
  runOnce(): Promise<MaintenanceReport>;
  /** Runs now and then every interval; failures are logged, never thrown. */
  start(): void;
  /** Stops the schedule and waits for a running pass. */
  stop(): Promise<void>;
}

const noChange: LearnReport = { added: 0, removed: 0, confirmed: 0 };

/** Creates the maintainer; nothing runs until `runOnce()` or `start()`. */
export function createNetworkMaintainer(options: NetworkMaintainerOptions): NetworkMaintainer {
  const { db, log, rule } = options;
  const now = options.now ?? (() => new Date());
  let stopping = false;

  /** `fn` in a transaction holding the lock; undefined when another collector holds it. */
  const step: MaintenanceStep = <T>(fn: (tx: Queryable) => Promise<T>): Promise<T | undefined> =>
    db.transaction(async (tx) => {
      const { rows } = await tx.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock($1) AS ok", [
        networkLockKey,
      ]);
      return rows[0]?.ok === true ? fn(tx) : undefined;
    });

  async function runOnce(): Promise<MaintenanceReport> {
    const at = now();
    const cutoff = new Date(at.getTime() - options.retentionDays * 86_400_000);
    // Newest hours first, a chunk of marks at a time, each hour once per run (ingest marks the
    // current hour again while we work: that mark waits for the next run). Every step below is
    // its own short transaction (see rollup.ts): PGlite has one connection, and a run holding
    // it for a second would stall ingest and every request meanwhile.
    const done: string[] = [];
    const skipped = (): MaintenanceReport => ({
      skipped: true,
      hours: done.length,
      learned: noChange,
      pruned: 0,
    });
    while (!stopping) {
      const claimed = await step((tx) => claimHours(tx, cutoff, done));
      if (claimed === undefined) return skipped();
      if (claimed.hours.length === 0) break;
      const chunk = await rollUpHours(db, step, claimed);
      done.push(...claimed.hours);
      if (!chunk.complete) return skipped();
    }
    const hours = done.length;
    const learned = await learn(step, rule, at);
    if (learned === undefined) return skipped();
    if (learned.added > 0 || learned.removed > 0) {
      log.info({ ...learned, hours }, "network: subnet map learned");
      await options.onMapChange?.();
    }
    // Flows carry the map of when their hour was rolled up; a changed map (learned above, which
    // set flows_revision to -1 with its change, or a manual entry changed on any collector)
    // re-attributes the learner's window. flows_revision stays -1 until that is done, so a run
    // stopped midway has the next one redo it.
    const learnedNow = await step(async (tx) => {
      const state = await tx.query<{ manual_revision: number; flows_revision: number }>(
        "SELECT manual_revision, flows_revision FROM subnet_map_state",
      );
      const revision = state.rows[0];
      const stale = revision?.manual_revision !== revision?.flows_revision;
      if (stale) await tx.query("UPDATE subnet_map_state SET flows_revision = -1");
      return { stale, revision: revision?.manual_revision ?? 0 };
    });
    if (learnedNow === undefined) return { ...skipped(), learned };
    if (learnedNow.stale) {
      const flows = await reattributeFlows(step, learnSince(rule, at));
      if (flows === undefined) return { ...skipped(), learned };
      // A manual change since the read above bumped manual_revision past this: redone next run.
      const marked = await step((tx) =>
        tx.query("UPDATE subnet_map_state SET flows_revision = $1", [learnedNow.revision]),
      );
      if (marked === undefined) return { ...skipped(), learned };
    }
    const pruned = await pruneRollups(step, cutoff);
    if (pruned === undefined) return { ...skipped(), learned };
    return { skipped: false, hours, learned, pruned };
  }

  const schedule = createPeriodic({
    run: runOnce,
    intervalMs: options.intervalS * 1000,
    log,
    failure: "network: map maintenance failed",
  });
  return {
    runOnce,
    start: () => {
      stopping = false;
      schedule.start();
    },
    async stop() {
      stopping = true;
      await schedule.stop();
    },
  };
}
