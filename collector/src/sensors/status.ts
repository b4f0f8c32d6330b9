import type { SensorThresholds } from "./thresholds.js";

/**
 * The computed sensor status. Agents report facts (disk, counters, packet times, store
 * state); the collector alone decides what they mean, so one threshold change applies to the
 * whole fleet at once and an old agent cannot claim to be healthy.
 */

/** The statuses a sensor can have. */
export const SensorState = {
  Online: "online",
  Degraded: "degraded",
  Offline: "offline",
} as const;

/**
 * The kv channel every status change is published on, as JSON
 * `{sensor, location, status, previous_status, reasons, at}`.
 */
export const sensorStatusChannel = "sensor-status";

/** One of {@link SensorState}. */
export type SensorState = (typeof SensorState)[keyof typeof SensorState];

/**
 * Why a sensor is not online. Each reason string starts with one of these codes, then `: ` and
 * a human-readable detail (`disk_full: /var/pcap 93.2% used (limit 90%)`), so the dashboard can
 * show the text and scripts can match the code.
 */
export const StatusReason = {
  DiskFull: "disk_full",
  PacketDrops: "packet_drops",
  NoPackets: "no_packets",
  RetentionShort: "retention_short",
  StoreUnreadable: "store_unreadable",
  StoreMissing: "store_missing",
  StoreCorrupt: "store_corrupt",
  NoStore: "no_store",
  NoHeartbeat: "no_heartbeat",
} as const;

/** One of {@link StatusReason}. */
export type StatusReason = (typeof StatusReason)[keyof typeof StatusReason];

/** What the rules need to know about one store. */
export interface StoreFacts {
  readonly path: string;
  readonly state: "ok" | "degraded" | "unreadable" | "missing" | "unspecified";
  /** Why the agent thinks the store is not OK; may be empty. */
  readonly error: string;
  /** Filesystem use, 0–100; null when not reported. */
  readonly diskUsedPercent: number | null;
  /** Newest retained packet, epoch ms; null when the store is empty. */
  readonly newestPacketMs: number | null;
  /** Retention forecast in hours; null when the agent has no forecast (no ingest yet). */
  readonly retentionHours: number | null;
  readonly corruptFiles: number;
}

/** The facts of one heartbeat the status is computed from. */
export interface StatusFacts {
  readonly stores: readonly StoreFacts[];
  /** Capture drops as % of received packets over the last interval; null when unknown. */
  readonly dropPercent: number | null;
  /**
   * "Now" on the sensor's clock (its heartbeat's sent_at), so packet ages are measured on the
   * clock that stamped the packets and a skewed sensor clock does not raise false alarms.
   */
  readonly clockMs: number;
}

/** A computed status with its reasons (empty when online). */
export interface ComputedStatus {
  readonly status: SensorState;
  readonly reasons: readonly string[];
}

const pct = (value: number) => `${Math.round(value * 10) / 10}%`;

/** Reasons of one store: its state, then its disk, packets and retention. */
function storeReasons(store: StoreFacts, thresholds: SensorThresholds): string[] {
  const reasons: string[] = [];
  const why = store.error === "" ? "" : `: ${store.error}`;
  if (store.state === "unreadable") reasons.push(`${StatusReason.StoreUnreadable}: ${store.path}${why}`);
  if (store.state === "missing") reasons.push(`${StatusReason.StoreMissing}: ${store.path}${why}`);
  if (store.corruptFiles > 0 || store.state === "degraded") {
    const files = store.corruptFiles === 1 ? "1 corrupt file" : `${store.corruptFiles} corrupt files`;
    reasons.push(`${StatusReason.StoreCorrupt}: ${store.path} has ${files}${why}`);
  }
  if (store.diskUsedPercent !== null && store.diskUsedPercent > thresholds.diskUsedPercent) {
    reasons.push(
      `${StatusReason.DiskFull}: ${store.path} ${pct(store.diskUsedPercent)} used (limit ${pct(thresholds.diskUsedPercent)})`,
    );
  }
  if (store.retentionHours !== null && store.retentionHours < thresholds.retentionHours) {
    const hours = Math.round(store.retentionHours * 10) / 10;
    reasons.push(
      `${StatusReason.RetentionShort}: ${store.path} keeps ${hours} h of packets (minimum ${thresholds.retentionHours} h)`,
    );
  }
  return reasons;
}

/**
 * Applies the status rules to one heartbeat: `degraded` with every reason that holds, else
 * `online`. (`offline` is decided by the sweeper, from the absence of heartbeats.)
 */
export function computeSensorStatus(facts: StatusFacts, thresholds: SensorThresholds): ComputedStatus {
  const reasons: string[] = [];
  if (facts.stores.length === 0) reasons.push(`${StatusReason.NoStore}: the agent reports no PCAP store`);
  let newest: number | null = null;
  for (const store of facts.stores) {
    reasons.push(...storeReasons(store, thresholds));
    if (store.newestPacketMs !== null && (newest === null || store.newestPacketMs > newest)) {
      newest = store.newestPacketMs;
    }
  }
  const readable = facts.stores.some((store) => store.state === "ok" || store.state === "degraded");
  if (readable) {
    if (newest === null) {
      reasons.push(`${StatusReason.NoPackets}: the store holds no packets`);
    } else {
      const ageSeconds = (facts.clockMs - newest) / 1000;
      if (ageSeconds > thresholds.noPacketsSeconds) {
        reasons.push(`${StatusReason.NoPackets}: newest packet is ${Math.round(ageSeconds)} s old`);
      }
    }
  }
  if (facts.dropPercent !== null && facts.dropPercent > thresholds.dropPercent) {
    reasons.push(
      `${StatusReason.PacketDrops}: ${pct(facts.dropPercent)} of packets dropped (limit ${pct(thresholds.dropPercent)})`,
    );
  }
  return { status: reasons.length === 0 ? SensorState.Online : SensorState.Degraded, reasons };
}

/** Capture counters summed over a sensor's capture handles. */
export interface CaptureTotals {
  readonly received: number;
  readonly dropped: number;
}

/**
 * Drop share (%) over the last interval: the counters' increase since `previous`, or their
 * whole lifetime when there is no previous sample or the counters went backwards (the capture
 * restarted). Null when no packets were received and none dropped.
 */
export function dropPercent(current: CaptureTotals, previous: CaptureTotals | undefined): number | null {
  let received = current.received;
  let dropped = current.dropped;
  if (
    previous !== undefined &&
    current.received >= previous.received &&
    current.dropped >= previous.dropped
  ) {
    received -= previous.received;
    dropped -= previous.dropped;
  }
  if (received === 0) return dropped === 0 ? null : 100;
  return Math.min(100, (dropped / received) * 100);
}

/**
 * True when `next` is a change worth recording against the stored status (undefined for a new
 * sensor). Only the status counts: reasons change with every figure (93.1% → 93.2% used), and
 * recording those would flood the history.
 */
export function statusChanged(previous: string | undefined, next: ComputedStatus): boolean {
  return previous !== next.status;
}
