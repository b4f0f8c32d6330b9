/**
 * The network map's background work, at start and then every `intervalS`: recompute the
 * rollups of the hours ingest marked, learn the map from them (`learn.ts`), re-attribute recent
 * flows when the map changed, prune rollups past the raw table's retention. Several collectors may run it: each transaction first tries a
 * transaction-level advisory lock and, when another collector holds it, this run stops there
 * (that collector is doing the same work). When the learner changed the map, `onMapChange`
 * runs (the lookup caches of every collector are cleared).
 */
import type { Logger } from "@pcapfleet/core";
import type { Db, Queryable } from "../db/index.js";
import { createPeriodic } from "../partitions/periodic.js";
import { type LearnReport, type LearnRule, learn, learnSince } from "./learn.js";
import { pruneRollups, reattributeFlows, rollUpChunk } from "./rollup.js";

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
  const locked = <T>(fn: (tx: Queryable) => Promise<T>): Promise<T | undefined> =>
    db.transaction(async (tx) => {
      const { rows } = await tx.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock($1) AS ok", [
        networkLockKey,
      ]);
      return rows[0]?.ok === true ? fn(tx) : undefined;
    });

  async function runOnce(): Promise<MaintenanceReport> {
    const at = now();
    const cutoff = new Date(at.getTime() - options.retentionDays * 86_400_000);
    // Newest hours first, a chunk per transaction, each hour once per run (ingest marks the
    // current hour again while we work: that mark waits for the next run).
    const done: string[] = [];
    while (!stopping) {
      const chunk = await locked((tx) => rollUpChunk(tx, cutoff, done));
      if (chunk === undefined) return { skipped: true, hours: done.length, learned: noChange, pruned: 0 };
      if (chunk.hours.length === 0) break;
      done.push(...chunk.hours);
    }
    const hours = done.length;
    const result = await locked(async (tx) => {
      const learned = await learn(tx, rule, at);
      // Flows carry the map of when their hour was rolled up; a changed map (learned here, or a
      // manual entry changed on any collector) re-attributes the learner's window.
      const state = await tx.query<{ manual_revision: number; flows_revision: number }>(
        "SELECT manual_revision, flows_revision FROM subnet_map_state",
      );
      const revision = state.rows[0];
      if (
        learned.added > 0 ||
        learned.removed > 0 ||
        revision?.manual_revision !== revision?.flows_revision
      ) {
        await reattributeFlows(tx, learnSince(rule, at));
        await tx.query("UPDATE subnet_map_state SET flows_revision = $1", [revision?.manual_revision ?? 0]);
      }
      return { learned, pruned: await pruneRollups(tx, cutoff) };
    });
    if (result === undefined) return { skipped: true, hours, learned: noChange, pruned: 0 };
    const { learned, pruned } = result;
    if (learned.added > 0 || learned.removed > 0) {
      log.info({ ...learned, hours }, "network: subnet map learned");
      await options.onMapChange?.();
    }
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
