import { isIP } from "node:net";
import { AppError, ErrorCode } from "@pcapfleet/core";
import {
  DeviceState,
  type Heartbeat,
  type SensorStatus,
  StoreState,
  TrafficDirection,
} from "@pcapfleet/proto";
import type { CaptureTotals, StoreFacts } from "../sensors/status.js";
import { type JsonObject, sensorStatusJson } from "./status-json.js";
import { cleanText, i64, isoFromMs, msFromNs, numberOrNull } from "./values.js";

/**
 * Turns a decoded heartbeat into plain rows for the database, after checking what must be
 * right (the sensor's identity) and sanitising what need not be (odd numbers become null,
 * malformed traffic rows are dropped), so a sloppy agent is still heard and only a heartbeat
 * the collector cannot attribute is refused.
 */

/** A device row, snake_case like its table. */
export interface DeviceRow {
  readonly name: string;
  readonly state: string;
  readonly speed_mbps: string;
  readonly rx_bytes: string;
  readonly tx_bytes: string;
  readonly rx_packets: string;
  readonly tx_packets: string;
  readonly rx_dropped: string;
  readonly tx_dropped: string;
  readonly rx_errors: string;
  readonly tx_errors: string;
  readonly capturing: boolean;
}

/** A subnet traffic row (prefix as sent: the database normalises it to its network). */
export interface TrafficRow {
  readonly minute_start: string;
  readonly prefix: string;
  readonly direction: "src" | "dst";
  readonly bytes: string;
  readonly packets: string;
}

/** One heartbeat, ready to store. */
export interface HeartbeatRecord {
  readonly sensor: string;
  readonly location: string;
  readonly version: string;
  readonly agentAddress: string;
  readonly hostname: string;
  readonly sequence: number;
  /** The agent's send time (its clock), epoch ms; null when absent or absurd. */
  readonly sentAtMs: number | null;
  /** Health figures for `sensor_health`, without sensor, time and drop share. */
  readonly health: Readonly<Record<string, number | string | null>>;
  readonly devices: readonly DeviceRow[];
  readonly traffic: readonly TrafficRow[];
  /** Traffic rows dropped as malformed. */
  readonly rejectedTraffic: number;
  readonly stores: readonly StoreFacts[];
  readonly capture: CaptureTotals;
  /** The SensorStatus as snake_case JSON, stored in `sensors.last_status`. */
  readonly statusJson: JsonObject;
}

/** Sensor names: what a hostname may be (they appear in URLs and file names). */
const sensorName = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,252}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
const controlChars = /[\u0000-\u001f\u007f]/;

/** Store states by enum value (absent: "unspecified"). */
export const storeStates: Record<number, StoreFacts["state"]> = {
  [StoreState.OK]: "ok",
  [StoreState.DEGRADED]: "degraded",
  [StoreState.UNREADABLE]: "unreadable",
  [StoreState.MISSING]: "missing",
};

/** Device states by enum value (absent: "unspecified"). */
export const deviceStates: Record<number, string> = {
  [DeviceState.UP]: "up",
  [DeviceState.DOWN]: "down",
  [DeviceState.NOT_PRESENT]: "not_present",
};

/** The `invalid_argument` error of a heartbeat the collector refuses. */
export function invalid(message: string): AppError {
  return new AppError(ErrorCode.InvalidArgument, `heartbeat rejected: ${message}`);
}

/**
 * The location a sensor is stored under ("default" when blank), after checking the identity's
 * name and location; throws an `invalid_argument` error naming what is wrong.
 */
export function checkedLocation(name: string, rawLocation: string): string {
  if (name === "") throw invalid("status.identity.name is empty");
  if (!sensorName.test(name)) {
    throw invalid("status.identity.name must be 1-253 letters, digits or . _ : @ - (starting alphanumeric)");
  }
  const trimmed = rawLocation.trim();
  const location = trimmed === "" ? "default" : trimmed;
  if (location.length > 128 || controlChars.test(location)) {
    throw invalid("status.identity.location must be at most 128 characters without control characters");
  }
  return location;
}

/** The sensor's name and location, or an `invalid_argument` error naming what is wrong. */
function identityOf(status: SensorStatus | undefined): { name: string; location: string } {
  const identity = status?.identity;
  if (identity === undefined) throw invalid("status.identity is missing");
  return { name: identity.name, location: checkedLocation(identity.name, identity.location) };
}

/** "10.1.0.0/16" with a valid address and length, else null. */
export function prefixOf(text: string): string | null {
  const slash = text.indexOf("/");
  if (slash <= 0) return null;
  const family = isIP(text.slice(0, slash));
  const bits = text.slice(slash + 1);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return null;
  return Number(bits) <= (family === 4 ? 32 : 128) ? text : null;
}

function trafficOf(heartbeat: Heartbeat): { rows: TrafficRow[]; rejected: number } {
  const rows: TrafficRow[] = [];
  let rejected = 0;
  for (const item of heartbeat.traffic) {
    const prefix = prefixOf(item.prefix);
    const direction =
      item.direction === TrafficDirection.SRC
        ? "src"
        : item.direction === TrafficDirection.DST
          ? "dst"
          : null;
    // Floor to the minute: the key must be the same however an agent rounds.
    const minuteMs = msFromNs(item.minuteStartNs - (item.minuteStartNs % 60_000_000_000n));
    if (prefix === null || direction === null || minuteMs === null) {
      rejected += 1;
      continue;
    }
    rows.push({
      minute_start: isoFromMs(minuteMs),
      prefix,
      direction,
      bytes: i64(item.bytes),
      packets: i64(item.packets),
    });
  }
  return { rows, rejected };
}

function devicesOf(status: SensorStatus): DeviceRow[] {
  // One row per name: a repeated name would make the upsert touch a row twice.
  const byName = new Map<string, DeviceRow>();
  for (const device of status.devices) {
    const name = cleanText(device.name, 64);
    if (name === "") continue;
    byName.set(name, {
      name,
      state: deviceStates[device.state] ?? "unspecified",
      speed_mbps: i64(device.speedMbps),
      rx_bytes: i64(device.rxBytes),
      tx_bytes: i64(device.txBytes),
      rx_packets: i64(device.rxPackets),
      tx_packets: i64(device.txPackets),
      rx_dropped: i64(device.rxDropped),
      tx_dropped: i64(device.txDropped),
      rx_errors: i64(device.rxErrors),
      tx_errors: i64(device.txErrors),
      capturing: device.capturing,
    });
  }
  return [...byName.values()];
}

/** Health figures: host values as sent, store values summed (sizes) or worst (disk, retention). */
function healthOf(status: SensorStatus, stores: readonly StoreFacts[]): HeartbeatRecord["health"] {
  const host = status.health;
  const total = host === undefined ? 0 : Number(host.memoryTotalBytes);
  const used = host === undefined ? 0 : Number(host.memoryUsedBytes);
  let pcapBytes = 0n;
  let pcapFiles = 0n;
  let oldest: number | null = null;
  let ingest = 0;
  let freeBytes: bigint | null = null;
  for (const store of status.stores) {
    pcapBytes += store.pcap?.bytes ?? 0n;
    pcapFiles += store.pcap?.files ?? 0n;
    ingest += numberOrNull(store.pcap?.ingestBytesPerSecond) ?? 0;
    const first = msFromNs(store.pcap?.oldestPacketNs ?? 0n);
    if (first !== null && (oldest === null || first < oldest)) oldest = first;
    if (store.disk !== undefined && (freeBytes === null || store.disk.freeBytes < freeBytes)) {
      freeBytes = store.disk.freeBytes;
    }
  }
  const worst = (pick: (store: StoreFacts) => number | null, max: boolean): number | null =>
    stores.reduce<number | null>((acc, store) => {
      const value = pick(store);
      if (value === null) return acc;
      return acc === null ? value : max ? Math.max(acc, value) : Math.min(acc, value);
    }, null);
  const newest = worst((store) => store.newestPacketMs, true);
  return {
    cpu_percent: numberOrNull(host?.cpuPercent),
    memory_total_bytes: host === undefined ? null : i64(host.memoryTotalBytes),
    memory_used_bytes: host === undefined ? null : i64(host.memoryUsedBytes),
    memory_percent: total > 0 ? Math.min(100, (used / total) * 100) : null,
    load_1m: numberOrNull(host?.load1m),
    load_5m: numberOrNull(host?.load5m),
    load_15m: numberOrNull(host?.load15m),
    agent_rss_bytes: host === undefined ? null : i64(host.agentRssBytes),
    agent_uptime_s: host === undefined ? null : i64(host.agentUptimeSeconds),
    disk_used_percent: worst((store) => store.diskUsedPercent, true),
    disk_free_bytes: freeBytes === null ? null : i64(freeBytes),
    pcap_bytes: i64(pcapBytes),
    pcap_files: i64(pcapFiles),
    pcap_oldest_at: oldest === null ? null : isoFromMs(oldest),
    pcap_newest_at: newest === null ? null : isoFromMs(newest),
    ingest_bytes_per_second: ingest,
    retention_hours: worst((store) => store.retentionHours, false),
    corrupt_files: stores.reduce((sum, store) => sum + store.corruptFiles, 0),
  };
}

/**
 * Checks and converts one heartbeat.
 *
 * @throws AppError `invalid_argument` when the sensor's identity is missing or malformed.
 */
export function toHeartbeatRecord(heartbeat: Heartbeat): HeartbeatRecord {
  const status = heartbeat.status;
  const { name, location } = identityOf(status);
  if (status === undefined) throw invalid("status is missing");
  const stores: StoreFacts[] = status.stores.map((store) => {
    const retention = numberOrNull(store.pcap?.retentionForecastHours);
    return {
      path: cleanText(store.path, 512),
      state: storeStates[store.state] ?? "unspecified",
      error: cleanText(store.error, 512),
      diskUsedPercent: store.disk === undefined ? null : numberOrNull(store.disk.usedPercent),
      newestPacketMs: msFromNs(store.pcap?.newestPacketNs ?? 0n),
      // 0 means "no forecast yet" (nothing ingested), not "keeps nothing".
      retentionHours: retention === null || retention <= 0 ? null : retention,
      corruptFiles: Number(store.corruptFiles),
    };
  });
  let received = 0;
  let dropped = 0;
  for (const handle of status.capture) {
    received += Number(handle.packetsReceived);
    dropped += Number(handle.packetsDroppedKernel) + Number(handle.packetsDroppedInterface);
  }
  const sent = heartbeat.sentAt;
  const sentAtMs =
    sent === undefined ? null : msFromNs(sent.seconds * 1_000_000_000n + BigInt(Math.trunc(sent.nanos)));
  const traffic = trafficOf(heartbeat);
  const identity = status.identity;
  return {
    sensor: name,
    location,
    version: cleanText(identity?.version ?? "", 64),
    agentAddress: cleanText(identity?.agentAddress ?? "", 256),
    hostname: cleanText(identity?.hostname ?? "", 253),
    sequence: Number(i64(heartbeat.sequence)),
    sentAtMs,
    health: healthOf(status, stores),
    devices: devicesOf(status),
    traffic: traffic.rows,
    rejectedTraffic: traffic.rejected,
    stores,
    capture: { received, dropped },
    statusJson: sensorStatusJson(status),
  };
}
