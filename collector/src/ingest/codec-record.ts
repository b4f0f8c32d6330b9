import type { StoreFacts } from "../sensors/status.js";
import { checkedLocation, type HeartbeatRecord, invalid, storeStates, type TrafficRow } from "./heartbeat.js";
import type { JsonObject } from "./status-json.js";
import { cleanText, i64, isoFromMs, numberOrNull } from "./values.js";
import type { Int64 } from "./wire-reader.js";

/**
 * The second half of `heartbeat-codec.ts`: what the decoder gathered from one heartbeat's bytes
 * ({@link Parts}), turned into the {@link HeartbeatRecord} exactly as `toHeartbeatRecord` turns
 * a protobuf-es message into one (same checks, same order, same arithmetic).
 */

/** Past this epoch ms (year 10000) a time is treated as absent, as `msFromNs` does. */
export const maxMs = 253_402_300_800_000;

/** msFromNs(seconds × 1e9 + nanos) of a Timestamp, without a BigInt. */
export function msOfTimestamp(seconds: Int64, nanos: number): number | null {
  if (typeof seconds !== "number") return null; // beyond 2^53 s: negative or past year 9999
  const a = Math.floor(nanos / 1e6);
  const b = nanos - a * 1e6;
  const q = seconds * 1000 + a;
  if (q < 0 || (q === 0 && b === 0)) return null;
  const ms = q + b / 1e6;
  return ms < maxMs ? ms : null;
}

/** A uint64/int64 as a JSON number (rounded past 2^53, as `Number(bigint)` does). */
export const count = (v: Int64): number => (typeof v === "number" ? v : Number(v));
/** A uint64/int64 as decimal text clamped to bigint's range, as `i64` does. */
export const text64 = (v: Int64): string => (typeof v === "number" ? `${v}` : i64(v));
/** The exact sum of two uint64 values. */
export const add = (a: Int64, b: Int64): Int64 =>
  typeof a === "number" && typeof b === "number" && a + b <= Number.MAX_SAFE_INTEGER
    ? a + b
    : BigInt(a) + BigInt(b);
/** Text of the status JSON: no control characters, at most 512 characters. */
export const text = (value: string): string => cleanText(value, 512);

/** SensorIdentity as read. */
export interface Identity {
  present: boolean;
  name: string;
  location: string;
  version: string;
  agentAddress: string;
  hostname: string;
}

/** HostHealth as read (0 for absent fields, as protobuf). */
export interface Host {
  cpu: number;
  memTotal: Int64;
  memUsed: Int64;
  load1: number;
  load5: number;
  load15: number;
  hostUptime: Int64;
  agentUptime: Int64;
  agentRss: Int64;
}

/** DiskUsage as read. */
export interface Disk {
  size: Int64;
  used: Int64;
  free: Int64;
  percent: number;
}

/** PcapAvailability as read, its times already in epoch ms. */
export interface Pcap {
  oldestMs: number | null;
  newestMs: number | null;
  bytes: Int64;
  files: Int64;
  ingest: number;
  retention: number;
}

/** StoreStatus as read. */
export interface Store {
  path: string;
  state: number;
  error: string;
  disk: Disk | undefined;
  pcap: Pcap | undefined;
  corrupt: Int64;
}

/** Everything of one heartbeat, gathered while reading (merged as protobuf merges). */
export interface Parts {
  sequence: Int64;
  sent: { seconds: Int64; nanos: number } | undefined;
  status: boolean;
  identity: Identity | undefined;
  host: Host | undefined;
  stores: Store[];
  devices: Map<string, HeartbeatRecord["devices"][number]>;
  devicesJson: JsonObject[];
  received: number;
  dropped: number;
  captureJson: JsonObject[];
  tasksJson: JsonObject[];
  traffic: TrafficRow[];
  rejectedTraffic: number;
}

/** The largest and smallest of non-null values, as heartbeat.ts's `worst` picks them. */
function worst(
  stores: readonly StoreFacts[],
  pick: (store: StoreFacts) => number | null,
  max: boolean,
): number | null {
  let acc: number | null = null;
  for (const store of stores) {
    const value = pick(store);
    if (value === null) continue;
    acc = acc === null ? value : max ? Math.max(acc, value) : Math.min(acc, value);
  }
  return acc;
}

/**
 * The record of a heartbeat gathered in `parts`.
 *
 * @throws AppError `invalid_argument` when the identity is missing or malformed.
 */
export function toRecord(parts: Parts): HeartbeatRecord {
  const id = parts.identity;
  if (id === undefined || !id.present) throw invalid("status.identity is missing");
  const location = checkedLocation(id.name, id.location);
  const stores: StoreFacts[] = [];
  const storesJson: JsonObject[] = [];
  let pcapBytes: Int64 = 0;
  let pcapFiles: Int64 = 0;
  let oldest: number | null = null;
  let ingest = 0;
  let freeBytes: Int64 | null = null;
  for (const s of parts.stores) {
    const { disk, pcap } = s;
    const path = text(s.path);
    const error = text(s.error);
    const state = storeStates[s.state] ?? "unspecified";
    const retention = numberOrNull(pcap?.retention);
    stores.push({
      path,
      state,
      error,
      diskUsedPercent: disk === undefined ? null : numberOrNull(disk.percent),
      newestPacketMs: pcap?.newestMs ?? null,
      retentionHours: retention === null || retention <= 0 ? null : retention,
      corruptFiles: count(s.corrupt),
    });
    storesJson.push({
      path,
      state,
      error,
      disk:
        disk === undefined
          ? null
          : {
              size_bytes: count(disk.size),
              used_bytes: count(disk.used),
              free_bytes: count(disk.free),
              used_percent: numberOrNull(disk.percent),
            },
      pcap:
        pcap === undefined
          ? null
          : {
              oldest_packet_at: pcap.oldestMs === null ? null : isoFromMs(pcap.oldestMs),
              newest_packet_at: pcap.newestMs === null ? null : isoFromMs(pcap.newestMs),
              bytes: count(pcap.bytes),
              files: count(pcap.files),
              ingest_bytes_per_second: numberOrNull(pcap.ingest),
              retention_forecast_hours: numberOrNull(pcap.retention),
            },
      corrupt_files: count(s.corrupt),
    });
    pcapBytes = add(pcapBytes, pcap?.bytes ?? 0);
    pcapFiles = add(pcapFiles, pcap?.files ?? 0);
    ingest += numberOrNull(pcap?.ingest) ?? 0;
    const first = pcap?.oldestMs ?? null;
    if (first !== null && (oldest === null || first < oldest)) oldest = first;
    if (disk !== undefined && (freeBytes === null || disk.free < freeBytes)) freeBytes = disk.free;
  }
  const host = parts.host;
  const total = host === undefined ? 0 : count(host.memTotal);
  const used = host === undefined ? 0 : count(host.memUsed);
  const newest = worst(stores, (store) => store.newestPacketMs, true);
  const sequence = parts.sequence;
  return {
    sensor: id.name,
    location,
    version: cleanText(id.version, 64),
    agentAddress: cleanText(id.agentAddress, 256),
    hostname: cleanText(id.hostname, 253),
    sequence: typeof sequence === "number" ? sequence : Number(i64(sequence)),
    sentAtMs: parts.sent === undefined ? null : msOfTimestamp(parts.sent.seconds, parts.sent.nanos),
    health: {
      cpu_percent: numberOrNull(host?.cpu),
      memory_total_bytes: host === undefined ? null : text64(host.memTotal),
      memory_used_bytes: host === undefined ? null : text64(host.memUsed),
      memory_percent: total > 0 ? Math.min(100, (used / total) * 100) : null,
      load_1m: numberOrNull(host?.load1),
      load_5m: numberOrNull(host?.load5),
      load_15m: numberOrNull(host?.load15),
      agent_rss_bytes: host === undefined ? null : text64(host.agentRss),
      agent_uptime_s: host === undefined ? null : text64(host.agentUptime),
      disk_used_percent: worst(stores, (store) => store.diskUsedPercent, true),
      disk_free_bytes: freeBytes === null ? null : text64(freeBytes),
      pcap_bytes: text64(pcapBytes),
      pcap_files: text64(pcapFiles),
      pcap_oldest_at: oldest === null ? null : isoFromMs(oldest),
      pcap_newest_at: newest === null ? null : isoFromMs(newest),
      ingest_bytes_per_second: ingest,
      retention_hours: worst(stores, (store) => store.retentionHours, false),
      corrupt_files: stores.reduce((sum, store) => sum + store.corruptFiles, 0),
    },
    devices: [...parts.devices.values()],
    traffic: parts.traffic,
    rejectedTraffic: parts.rejectedTraffic,
    stores,
    capture: { received: parts.received, dropped: parts.dropped },
    statusJson: {
      identity: {
        name: text(id.name),
        location: text(id.location),
        version: text(id.version),
        agent_address: text(id.agentAddress),
        hostname: text(id.hostname),
      },
      health:
        host === undefined
          ? null
          : {
              cpu_percent: numberOrNull(host.cpu),
              memory_total_bytes: count(host.memTotal),
              memory_used_bytes: count(host.memUsed),
              load_1m: numberOrNull(host.load1),
              load_5m: numberOrNull(host.load5),
              load_15m: numberOrNull(host.load15),
              host_uptime_seconds: count(host.hostUptime),
              agent_uptime_seconds: count(host.agentUptime),
              agent_rss_bytes: count(host.agentRss),
            },
      stores: storesJson,
      devices: parts.devicesJson,
      capture: parts.captureJson,
      busy_tasks: parts.tasksJson,
    },
  };
}
