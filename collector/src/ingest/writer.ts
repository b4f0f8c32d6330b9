import type { Queryable } from "../db/index.js";
import { computeSensorStatus, dropPercent, type SensorState, statusChanged } from "../sensors/status.js";
import type { SensorThresholds } from "../sensors/thresholds.js";
import { nextTurn } from "./batcher.js";
import type { HeartbeatRecord } from "./heartbeat.js";
import { isoFromMs } from "./values.js";
import { lockSensors, writeBatch } from "./writer-sql.js";

/**
 * Writes a batch of heartbeats in one transaction of two statements, whatever its size: the
 * row locks, then one statement writing everything (see `writer-sql.ts`). Work that would
 * change nothing is left out: inserting locations already known, deleting gone devices of a
 * sensor that reports the devices this process last stored for it (both from an
 * {@link IngestMemo}).
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

/**
 * Longest stretch of row building before the event loop gets a turn. Building a batch's rows
 * costs ~30 µs per heartbeat (status, JSON text), so a 1,000-heartbeat batch in one go held the
 * loop ~30 ms, and REST requests arriving meanwhile waited that long; in slices of ~2 ms they are
 * served in between. By time, not count: on an idle loop a turn costs little, on a busy one each
 * turn waits for everything else queued, so turns are taken only as often as needed. The
 * transaction's row locks are held a little longer, on sensors no other batch of this process
 * touches.
 */
const buildSliceMs = 2;

/** Yields to the event loop when the current slice of work has run {@link buildSliceMs}. */
function createSlicer(): () => Promise<void> | undefined {
  let started = performance.now();
  let calls = 0;
  return () => {
    // Reading the clock costs ~50 ns; every 8th item is often enough at ~30 µs per item.
    if ((++calls & 7) !== 0 || performance.now() - started < buildSliceMs) return undefined;
    return nextTurn().then(() => {
      started = performance.now();
    });
  };
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

/** The heartbeat of a sensor this process last committed, and the device names it stored. */
export interface WrittenDevices {
  readonly sequence: number;
  readonly atMs: number;
  /** Device names, sorted and joined by a newline (names hold no control characters). */
  readonly names: string;
}

/**
 * What this process knows it stored, so a batch can skip statements that would change nothing.
 * Kept across batches by the ingest service; it is only a hint: a missing or stale entry costs
 * one statement more, never a wrong row.
 */
export interface IngestMemo {
  /**
   * Locations known to exist. Nothing deletes a location a sensor names (the foreign key
   * forbids it), and the service clears this set when a batch fails, in case one was renamed.
   */
  readonly locations: Set<string>;
  /**
   * Per sensor, the device names of its latest heartbeat committed by this process. Trusted only
   * while the locked sensor row still holds that heartbeat's sequence and time: another
   * collector writing the sensor meanwhile changes them.
   */
  readonly devices: Map<string, WrittenDevices>;
}

/** An empty {@link IngestMemo}. */
export function createIngestMemo(): IngestMemo {
  return { locations: new Set(), devices: new Map() };
}

/** What {@link writeHeartbeats} did; `remember` it in the memo once the transaction committed. */
export interface WriteResult {
  /** The status changes recorded, in order. */
  readonly changes: StatusChange[];
  /** The locations and device sets now stored; true only after COMMIT. */
  readonly written: { readonly locations: readonly string[]; readonly devices: Map<string, WrittenDevices> };
}

/** Adds a committed batch's {@link WriteResult} to `memo`. */
export function rememberWrite(memo: IngestMemo, result: WriteResult): void {
  for (const location of result.written.locations) memo.locations.add(location);
  for (const [sensor, written] of result.written.devices) memo.devices.set(sensor, written);
}

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
 * The JSON object of `body` with the members in `first` (JSON text, `"key":value,...`) ahead of
 * its own. Cheaper than `JSON.stringify({...body, key})`: spreading a 20-field object and adding
 * fields to the copy costs more than serialising it (measured: 19 → 9 µs per heartbeat for its
 * rows), and the statements read each record by key, in any order.
 */
function jsonRow(first: string, body: object): string {
  const rest = JSON.stringify(body);
  return rest === "{}" ? `{${first}}` : `{${first},${rest.slice(1)}`;
}

/** `names` sorted and joined, the form kept in {@link WrittenDevices}. */
function deviceSet(record: HeartbeatRecord): string {
  return record.devices
    .map((device) => device.name)
    .sort()
    .join("\n");
}

/** True when the stored devices of `stored` are known to be exactly `names`. */
function sameDevices(
  stored: StoredSensor | undefined,
  known: WrittenDevices | undefined,
  names: string,
): boolean {
  return (
    stored !== undefined &&
    known !== undefined &&
    known.names === names &&
    known.sequence === stored.last_sequence &&
    known.atMs === stored.last_heartbeat_at.getTime()
  );
}

/**
 * Stores `batch` (heartbeats in arrival order) in one transaction on `tx`. `memo` (optional)
 * lets it skip statements that would change nothing; pass the result to {@link rememberWrite}
 * after COMMIT.
 */
export async function writeHeartbeats(
  tx: Queryable,
  batch: readonly ReceivedHeartbeat[],
  thresholds: SensorThresholds,
  memo: IngestMemo = createIngestMemo(),
): Promise<WriteResult> {
  const names = [...new Set(batch.map((item) => item.record.sensor))].sort();
  const locations = [...new Set(batch.map((item) => item.record.location))].sort();
  const newLocations = locations.filter((location) => !memo.locations.has(location));
  const locked = await tx.query<StoredSensor>(lockSensors, [names]);
  const state = new Map(locked.rows.map((row) => [row.name, row]));
  // Read before the loop below replaces each entry with the batch's own heartbeats.
  const before = new Map(state);

  // Each sensor's row as JSON text, serialised here (in slices) rather than all at the end.
  const sensors = new Map<string, string>();
  const devices = new Map<string, ReceivedHeartbeat>();
  const health: string[] = [];
  const traffic: string[] = [];
  const changes: StatusChange[] = [];
  const slice = createSlicer();
  for (const { record, receivedAtMs } of batch) {
    const turn = slice();
    if (turn !== undefined) await turn;
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
    sensors.set(
      record.sensor,
      JSON.stringify({
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
      }),
    );
    devices.set(record.sensor, { record, receivedAtMs });
    const sensorJson = JSON.stringify(record.sensor);
    health.push(
      jsonRow(
        `"sensor":${sensorJson},"received_at":"${at}","sequence":${JSON.stringify(record.sequence)},` +
          `"packets_received":${JSON.stringify(record.capture.received)},` +
          `"packets_dropped":${JSON.stringify(record.capture.dropped)},"drop_percent":${JSON.stringify(drops)}`,
        h,
      ),
    );
    const trafficKey = `"location":${JSON.stringify(record.location)},"sensor":${sensorJson}`;
    for (const row of record.traffic) traffic.push(jsonRow(`"i":${traffic.length},${trafficKey}`, row));
  }

  // `names` is sorted, so the rows go in the same order as the locks were taken.
  const sensorRows = names.map((name) => sensors.get(name) ?? "null");
  const deviceRows: string[] = [];
  const gone: { sensor: string; names: string[] }[] = [];
  const written = new Map<string, WrittenDevices>();
  for (const { record, receivedAtMs } of devices.values()) {
    const turn = slice();
    if (turn !== undefined) await turn;
    const key = `"sensor":${JSON.stringify(record.sensor)},"updated_at":"${isoFromMs(receivedAtMs)}"`;
    for (const device of record.devices) deviceRows.push(jsonRow(key, device));
    const set = deviceSet(record);
    if (!sameDevices(before.get(record.sensor), memo.devices.get(record.sensor), set)) {
      gone.push({ sensor: record.sensor, names: record.devices.map((device) => device.name) });
    }
    written.set(record.sensor, { sequence: record.sequence, atMs: receivedAtMs, names: set });
  }
  const history = changes.map((change) => ({
    sensor: change.sensor,
    status: change.status,
    previous_status: change.previous_status,
    reasons: change.reasons,
    changed_at: change.at,
  }));
  await tx.query(writeBatch, [
    newLocations,
    `[${sensorRows.join(",")}]`,
    `[${deviceRows.join(",")}]`,
    JSON.stringify(gone),
    `[${health.join(",")}]`,
    `[${traffic.join(",")}]`,
    JSON.stringify(history),
  ]);
  return { changes, written: { locations, devices: written } };
}
