import type { Queryable } from "../db/index.js";
import { computeSensorStatus, dropPercent, type SensorState, statusChanged } from "../sensors/status.js";
import type { SensorThresholds } from "../sensors/thresholds.js";
import type { HeartbeatRecord } from "./heartbeat.js";
import { isoFromMs } from "./values.js";

/**
 * Writes a batch of heartbeats in one transaction with a fixed number of statements, each
 * taking its rows as one JSON array (`jsonb_to_recordset`): one parameter whatever the batch
 * size, so the statement text never changes, no parameter limit is ever hit, and 200
 * heartbeats cost about what one does.
 *
 * Sensor rows are locked (FOR UPDATE, in name order) before their status is computed, so two
 * writers — a second collector, or the offline sweeper — never both record the same change.
 */

/** A heartbeat and when the collector received it. */
export interface ReceivedHeartbeat {
  readonly record: HeartbeatRecord;
  readonly receivedAtMs: number;
}

/** A status change, as recorded in `sensor_status_history` and published on `sensor-status`. */
export interface StatusChange {
  readonly sensor: string;
  readonly location: string;
  readonly status: SensorState;
  readonly previous_status: string | null;
  readonly reasons: readonly string[];
  readonly at: string;
}

/** What the row lock read of each known sensor. */
interface StoredSensor {
  name: string;
  status: string;
  status_changed_at: Date;
  last_sequence: number;
  last_heartbeat_at: Date;
  heartbeat_interval_s: number;
  capture_packets_received: number;
  capture_packets_dropped: number;
}

/** A column list for `jsonb_to_recordset(...) AS x(<columns>)` and the INSERT naming them. */
function columns(spec: Readonly<Record<string, string>>): { names: string; typed: string } {
  const entries = Object.entries(spec);
  return {
    names: entries.map(([name]) => name).join(", "),
    typed: entries.map(([name, type]) => `${name} ${type}`).join(", "),
  };
}

const sensorCols = columns({
  name: "text",
  location: "text",
  version: "text",
  agent_address: "text",
  hostname: "text",
  status: "text",
  status_reasons: "text[]",
  status_changed_at: "timestamptz",
  last_heartbeat_at: "timestamptz",
  last_sequence: "bigint",
  last_status: "jsonb",
  heartbeat_interval_s: "double precision",
  cpu_percent: "double precision",
  memory_percent: "double precision",
  disk_used_percent: "double precision",
  pcap_bytes: "bigint",
  pcap_oldest_at: "timestamptz",
  pcap_newest_at: "timestamptz",
  retention_hours: "double precision",
  capture_packets_received: "bigint",
  capture_packets_dropped: "bigint",
});
const sensorUpdates = sensorCols.names
  .split(", ")
  .filter((name) => name !== "name")
  .map((name) => `${name} = EXCLUDED.${name}`)
  .join(", ");
const upsertSensors = `INSERT INTO sensors (${sensorCols.names}, first_seen_at)
  SELECT ${sensorCols.names}, last_heartbeat_at FROM jsonb_to_recordset($1::jsonb) AS x(${sensorCols.typed})
  ON CONFLICT (name) DO UPDATE SET ${sensorUpdates}`;

const healthCols = columns({
  sensor: "text",
  received_at: "timestamptz",
  sequence: "bigint",
  cpu_percent: "double precision",
  memory_total_bytes: "bigint",
  memory_used_bytes: "bigint",
  memory_percent: "double precision",
  load_1m: "double precision",
  load_5m: "double precision",
  load_15m: "double precision",
  agent_rss_bytes: "bigint",
  agent_uptime_s: "bigint",
  disk_used_percent: "double precision",
  disk_free_bytes: "bigint",
  pcap_bytes: "bigint",
  pcap_files: "bigint",
  pcap_oldest_at: "timestamptz",
  pcap_newest_at: "timestamptz",
  ingest_bytes_per_second: "double precision",
  retention_hours: "double precision",
  corrupt_files: "bigint",
  packets_received: "bigint",
  packets_dropped: "bigint",
  drop_percent: "double precision",
});
const insertHealth = `INSERT INTO sensor_health (${healthCols.names})
  SELECT ${healthCols.names} FROM jsonb_to_recordset($1::jsonb) AS x(${healthCols.typed})`;

const counters = ["rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_dropped", "tx_dropped"];
const deviceCols = columns({
  sensor: "text",
  name: "text",
  state: "text",
  speed_mbps: "bigint",
  ...Object.fromEntries([...counters, "rx_errors", "tx_errors"].map((name) => [name, "bigint"])),
  capturing: "boolean",
  updated_at: "timestamptz",
});
const upsertDevices = `INSERT INTO devices (${deviceCols.names})
  SELECT ${deviceCols.names} FROM jsonb_to_recordset($1::jsonb) AS x(${deviceCols.typed}) ORDER BY sensor, name
  ON CONFLICT (sensor, name) DO UPDATE SET ${deviceCols.names
    .split(", ")
    .filter((name) => name !== "sensor" && name !== "name")
    .map((name) => `${name} = EXCLUDED.${name}`)
    .join(", ")}`;
// Interfaces a sensor no longer reports are gone from its host.
const deleteGoneDevices = `DELETE FROM devices d USING jsonb_to_recordset($1::jsonb) AS x(sensor text, names text[])
  WHERE d.sensor = x.sensor AND NOT (d.name = ANY (x.names))`;

// DISTINCT ON: "10.1.2.3/16" and "10.1.0.0/16" are one network, and one statement may not
// update a row twice; the later row (higher i) of a batch wins, as a replay should.
const upsertTraffic = `INSERT INTO subnet_traffic (location, sensor, minute_start, prefix, direction, bytes, packets)
  SELECT DISTINCT ON (sensor, minute_start, network(prefix), direction)
         location, sensor, minute_start, network(prefix), direction, bytes, packets
    FROM jsonb_to_recordset($1::jsonb) AS x(i int, location text, sensor text, minute_start timestamptz,
                                            prefix inet, direction text, bytes bigint, packets bigint)
   ORDER BY sensor, minute_start, network(prefix), direction, i DESC
  ON CONFLICT (sensor, minute_start, prefix, direction)
  DO UPDATE SET bytes = EXCLUDED.bytes, packets = EXCLUDED.packets, location = EXCLUDED.location`;

const insertHistory = `INSERT INTO sensor_status_history (sensor, status, previous_status, reasons, changed_at)
  SELECT sensor, status, previous_status, reasons, changed_at
    FROM jsonb_to_recordset($1::jsonb) AS x(sensor text, status text, previous_status text, reasons text[],
                                            changed_at timestamptz)`;

/** Seconds between heartbeats implied by two of them, or undefined when they do not tell. */
function observedInterval(
  stored: StoredSensor | undefined,
  sequence: number,
  atMs: number,
): number | undefined {
  if (stored === undefined || sequence <= stored.last_sequence) return undefined;
  const seconds = (atMs - stored.last_heartbeat_at.getTime()) / 1000 / (sequence - stored.last_sequence);
  return Math.min(3600, Math.max(0.1, seconds));
}

/**
 * Stores `batch` (heartbeats in arrival order) in one transaction on `tx` and returns the
 * status changes it recorded, in order.
 */
export async function writeHeartbeats(
  tx: Queryable,
  batch: readonly ReceivedHeartbeat[],
  thresholds: SensorThresholds,
): Promise<StatusChange[]> {
  const names = [...new Set(batch.map((item) => item.record.sensor))].sort();
  const locations = [...new Set(batch.map((item) => item.record.location))].sort();
  await tx.query(
    "INSERT INTO locations (name) SELECT unnest($1::text[]) ORDER BY 1 ON CONFLICT (name) DO NOTHING",
    [locations],
  );
  const locked = await tx.query<StoredSensor>(
    `SELECT name, status, status_changed_at, last_sequence, last_heartbeat_at, heartbeat_interval_s,
            capture_packets_received, capture_packets_dropped
       FROM sensors WHERE name = ANY ($1::text[]) ORDER BY name FOR UPDATE`,
    [names],
  );
  const state = new Map(locked.rows.map((row) => [row.name, row]));

  const sensors = new Map<string, Record<string, unknown>>();
  const devices = new Map<string, ReceivedHeartbeat>();
  const health: Record<string, unknown>[] = [];
  const traffic: Record<string, unknown>[] = [];
  const changes: StatusChange[] = [];
  for (const { record, receivedAtMs } of batch) {
    const stored = state.get(record.sensor);
    const previousCapture =
      stored === undefined
        ? undefined
        : { received: stored.capture_packets_received, dropped: stored.capture_packets_dropped };
    const drops = dropPercent(record.capture, previousCapture);
    const computed = computeSensorStatus(
      { stores: record.stores, dropPercent: drops, clockMs: record.sentAtMs ?? receivedAtMs },
      thresholds,
    );
    const at = isoFromMs(receivedAtMs);
    const changed = statusChanged(stored?.status, computed);
    if (changed) {
      changes.push({
        sensor: record.sensor,
        location: record.location,
        status: computed.status,
        previous_status: stored?.status ?? null,
        reasons: computed.reasons,
        at,
      });
    }
    const interval =
      observedInterval(stored, record.sequence, receivedAtMs) ??
      stored?.heartbeat_interval_s ??
      thresholds.defaultHeartbeatIntervalSeconds;
    const statusChangedAt =
      changed || stored === undefined ? new Date(receivedAtMs) : stored.status_changed_at;
    // Later heartbeats of the same sensor in this batch compare against this one.
    state.set(record.sensor, {
      name: record.sensor,
      status: computed.status,
      status_changed_at: statusChangedAt,
      last_sequence: record.sequence,
      last_heartbeat_at: new Date(receivedAtMs),
      heartbeat_interval_s: interval,
      capture_packets_received: record.capture.received,
      capture_packets_dropped: record.capture.dropped,
    });
    const h = record.health;
    sensors.set(record.sensor, {
      name: record.sensor,
      location: record.location,
      version: record.version,
      agent_address: record.agentAddress,
      hostname: record.hostname,
      status: computed.status,
      status_reasons: computed.reasons,
      status_changed_at: statusChangedAt.toISOString(),
      last_heartbeat_at: at,
      last_sequence: record.sequence,
      last_status: record.statusJson,
      heartbeat_interval_s: interval,
      cpu_percent: h["cpu_percent"],
      memory_percent: h["memory_percent"],
      disk_used_percent: h["disk_used_percent"],
      pcap_bytes: h["pcap_bytes"],
      pcap_oldest_at: h["pcap_oldest_at"],
      pcap_newest_at: h["pcap_newest_at"],
      retention_hours: h["retention_hours"],
      capture_packets_received: record.capture.received,
      capture_packets_dropped: record.capture.dropped,
    });
    devices.set(record.sensor, { record, receivedAtMs });
    health.push({
      ...h,
      sensor: record.sensor,
      received_at: at,
      sequence: record.sequence,
      packets_received: record.capture.received,
      packets_dropped: record.capture.dropped,
      drop_percent: drops,
    });
    for (const row of record.traffic) {
      traffic.push({ ...row, i: traffic.length, location: record.location, sensor: record.sensor });
    }
  }

  // `names` is sorted, so the rows go in the same order as the locks were taken.
  const sensorRows = names.map((name) => sensors.get(name));
  await tx.query(upsertSensors, [JSON.stringify(sensorRows)]);
  const deviceRows = [...devices.values()].flatMap(({ record, receivedAtMs }) =>
    record.devices.map((device) => ({
      ...device,
      sensor: record.sensor,
      updated_at: isoFromMs(receivedAtMs),
    })),
  );
  if (deviceRows.length > 0) await tx.query(upsertDevices, [JSON.stringify(deviceRows)]);
  const reported = [...devices.values()].map(({ record }) => ({
    sensor: record.sensor,
    names: record.devices.map((device) => device.name),
  }));
  await tx.query(deleteGoneDevices, [JSON.stringify(reported)]);
  await tx.query(insertHealth, [JSON.stringify(health)]);
  if (traffic.length > 0) await tx.query(upsertTraffic, [JSON.stringify(traffic)]);
  if (changes.length > 0) {
    const history = changes.map((change) => ({
      sensor: change.sensor,
      status: change.status,
      previous_status: change.previous_status,
      reasons: change.reasons,
      changed_at: change.at,
    }));
    await tx.query(insertHistory, [JSON.stringify(history)]);
  }
  return changes;
}
