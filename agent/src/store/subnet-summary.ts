/**
 * Subnet traffic summaries: per minute of packet time, bytes (original length) and packets per
 * source prefix and per destination prefix. Fed from the index build's record callback, so it
 * shares the indexing pass; the packet path ({@link countPacket}) allocates nothing, and prefix
 * strings are built only when rows are emitted.
 *
 * Rows are totals. The collector stores them with REPLACE semantics keyed by (sensor, minute,
 * prefix, direction), because the heartbeat queue may send a row twice; so every row carries
 * the full bytes and packets of its key as far as the agent knows, and a later row for the same
 * key replaces the earlier one. To make that possible the summariser keeps the totals of recent
 * minutes after emitting them (the history). A record arriving late, for a minute already
 * emitted, is added to that minute's totals and the updated total of each key it touched is
 * emitted again (only those keys, not the whole minute).
 *
 * The history is bounded: at most `maxMinutes` minutes (default 1440: a day of traffic) and at
 * most `maxCounters` counters in all (default 200 000); beyond either, the oldest fully emitted
 * minutes are forgotten first, whole. Every minute before the newest forgotten one is behind the
 * "horizon": a late record for a minute behind the horizon that is not held any more is dropped
 * (counted in {@link SubnetSummarizer.lateDropped}), since a total built from it alone would
 * replace the collector's bigger one. Minutes not emitted yet are never forgotten.
 */
import type { PacketRecord } from "@pcapfleet/pcap";
import { type CounterSnapshot, MinuteCounts, type MinuteSnapshot } from "./minute-counts.js";
import { countPacket, DST, SRC } from "./packet-prefixes.js";
import { PrefixTable } from "./prefix-table.js";
import type { SubnetTrafficRow } from "./types.js";

/** Default of {@link SummaryLimits.maxMinutes}: a day of minutes. */
export const DEFAULT_HISTORY_MINUTES = 1440;
/** Default of {@link SummaryLimits.maxCounters}. */
export const DEFAULT_HISTORY_COUNTERS = 200_000;
/** Prefix table size below which it is never compacted. */
const MIN_COMPACT_PREFIXES = 65_536;
const NS_PER_S = 1_000_000_000n;

/** Bounds of the history of emitted minutes; see the module comment. */
export interface SummaryLimits {
  /** Minutes held at most. Default {@link DEFAULT_HISTORY_MINUTES}. */
  readonly maxMinutes?: number;
  /** Counters (minute × prefix × direction) held at most. Default {@link DEFAULT_HISTORY_COUNTERS}. */
  readonly maxCounters?: number;
}

/** Accumulates summary minutes and their totals; see the module comment. */
export class SubnetSummarizer {
  private prefixes: PrefixTable;
  private readonly minutes = new Map<number, MinuteCounts>();
  /** The minute of the previous packet: consecutive packets almost always share it. */
  private current: MinuteCounts | undefined;
  private readonly maxMinutes: number;
  private readonly maxCounters: number;
  private horizonMinute = 0;
  private dropped = 0;

  /** Prefix lengths: IPv4 0..32, IPv6 0..128 (checked by the caller). */
  constructor(prefixV4: number, prefixV6: number, limits: SummaryLimits = {}) {
    this.prefixes = new PrefixTable(prefixV4, prefixV6);
    this.maxMinutes = Math.max(1, limits.maxMinutes ?? DEFAULT_HISTORY_MINUTES);
    this.maxCounters = Math.max(1, limits.maxCounters ?? DEFAULT_HISTORY_COUNTERS);
  }

  /** IPv4 prefix length. */
  get prefixV4(): number {
    return this.prefixes.prefixV4;
  }

  /** IPv6 prefix length. */
  get prefixV6(): number {
    return this.prefixes.prefixV6;
  }

  /** Minutes with totals not emitted yet (new minutes, or held ones changed by late records). */
  get pendingMinutes(): number {
    let n = 0;
    for (const counts of this.minutes.values()) if (counts.dirtyCount > 0) n++;
    return n;
  }

  /** Minutes held (emitted or not). */
  get heldMinutes(): number {
    return this.minutes.size;
  }

  /** Minutes before this one (minutes since the epoch) may have been forgotten. */
  get horizon(): number {
    return this.horizonMinute;
  }

  /** Packets dropped because their minute was forgotten; see the module comment. */
  get lateDropped(): number {
    return this.dropped;
  }

  /** Counts one packet (the reader's reused record; nothing of it is kept). */
  add(rec: PacketRecord): void {
    const minute = Math.floor(rec.tsSec / 60);
    let counts = this.current;
    if (counts === undefined || counts.minute !== minute) {
      counts = this.minutes.get(minute);
      if (counts === undefined) {
        if (minute < this.horizonMinute) {
          this.dropped++;
          return;
        }
        counts = new MinuteCounts(minute);
        this.minutes.set(minute, counts);
      }
      this.current = counts;
    }
    countPacket(rec, counts, this.prefixes);
  }

  /**
   * Rows for the keys whose totals changed since last emitted, in minutes that start before
   * `beforeMinute` (minutes since the epoch; Infinity: all), ordered by minute. Each row is the
   * key's full total. Then forgets the oldest minutes beyond the bounds.
   */
  take(beforeMinute: number): SubnetTrafficRow[] {
    const due: MinuteCounts[] = [];
    for (const counts of this.minutes.values()) {
      if (counts.minute < beforeMinute && counts.dirtyCount > 0) due.push(counts);
    }
    due.sort((a, b) => a.minute - b.minute);
    const rows: SubnetTrafficRow[] = [];
    for (const counts of due) {
      const minuteStartNs = BigInt(counts.minute * 60) * NS_PER_S;
      for (let slot = 0; slot < counts.size; slot++) {
        if (counts.dirty[slot] === 0) continue;
        const key = counts.keys[slot] as number;
        rows.push({
          minuteStartNs,
          prefix: this.prefixes.format(key >>> 1),
          direction: (key & 1) === SRC ? "src" : "dst",
          bytes: counts.bytes[slot] as number,
          packets: counts.packets[slot] as number,
        });
      }
      counts.markEmitted();
    }
    this.forgetOldest();
    return rows;
  }

  /** Minutes held, ascending. */
  heldMinuteList(): number[] {
    return [...this.minutes.keys()].sort((a, b) => a - b);
  }

  /** Minutes changed since their last snapshot, as snapshots; clears their "unsaved" mark. */
  snapshotUnsaved(): MinuteSnapshot[] {
    const out: MinuteSnapshot[] = [];
    for (const counts of this.minutes.values()) {
      if (!counts.unsaved) continue;
      counts.unsaved = false;
      const counters: CounterSnapshot[] = [];
      for (let slot = 0; slot < counts.size; slot++) {
        const key = counts.keys[slot] as number;
        const [family, w0, w1, w2, w3] = this.prefixes.describe(key >>> 1);
        counters.push([
          family,
          w0,
          w1,
          w2,
          w3,
          key & 1,
          counts.bytes[slot] as number,
          counts.packets[slot] as number,
          counts.dirty[slot] as number,
        ]);
      }
      out.push({ minute: counts.minute, counters });
    }
    return out;
  }

  /** Marks `minutes` unsaved again (their snapshot could not be written). */
  markUnsaved(minutes: readonly number[]): void {
    for (const minute of minutes) {
      const counts = this.minutes.get(minute);
      if (counts !== undefined) counts.unsaved = true;
    }
  }

  /**
   * Restores persisted minutes and horizon (at start, before any packet). Counters of a prefix
   * family this table does not know are skipped; restored minutes are not "unsaved".
   */
  restore(snapshots: readonly MinuteSnapshot[], horizon: number): void {
    this.raiseHorizon(horizon);
    for (const snapshot of snapshots) {
      let counts = this.minutes.get(snapshot.minute);
      if (counts === undefined) {
        counts = new MinuteCounts(snapshot.minute);
        this.minutes.set(snapshot.minute, counts);
      }
      for (const c of snapshot.counters) {
        const id = this.prefixes.intern(c);
        if (id === undefined) continue;
        counts.restore(id * 2 + (c[5] === DST ? DST : SRC), c[6], c[7], c[8] !== 0);
      }
    }
  }

  /** Moves the horizon to `minute` at least (a minute whose totals were lost lies behind it). */
  raiseHorizon(minute: number): void {
    if (minute > this.horizonMinute) this.horizonMinute = minute;
  }

  /** Forgets the oldest fully emitted minutes while the history is over its bounds. */
  private forgetOldest(): void {
    let counters = 0;
    for (const counts of this.minutes.values()) counters += counts.size;
    if (this.minutes.size > this.maxMinutes || counters > this.maxCounters) {
      const clean = [...this.minutes.values()].filter((c) => c.dirtyCount === 0);
      clean.sort((a, b) => a.minute - b.minute);
      for (const counts of clean) {
        if (this.minutes.size <= this.maxMinutes && counters <= this.maxCounters) break;
        this.minutes.delete(counts.minute);
        counters -= counts.size;
        this.raiseHorizon(counts.minute + 1);
        if (this.current === counts) this.current = undefined;
      }
    }
    if (this.prefixes.size > Math.max(MIN_COMPACT_PREFIXES, 2 * counters)) this.compactPrefixes();
  }

  /** Rebuilds the prefix table with only the prefixes held minutes use (bounds its memory). */
  private compactPrefixes(): void {
    const old = this.prefixes;
    const next = new PrefixTable(old.prefixV4, old.prefixV6);
    const ids = new Map<number, number>();
    const remap = (key: number): number => {
      const id = key >>> 1;
      let to = ids.get(id);
      if (to === undefined) {
        to = next.intern(old.describe(id)) as number;
        ids.set(id, to);
      }
      return to * 2 + (key & 1);
    };
    for (const counts of this.minutes.values()) counts.remap(remap);
    this.prefixes = next;
  }
}
