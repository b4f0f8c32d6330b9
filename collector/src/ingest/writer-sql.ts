/**
 * The statements of the ingest writer: the row locks, and {@link writeBatch}. Each kind of row
 * is one JSON array parameter read by `json_to_recordset`: one parameter whatever the batch
 * size, so the statement text never changes and no parameter limit is ever hit.
 *
 * `json`, not `jsonb`: a batch of 1,000 heartbeats is about 2 MB of JSON, and building a jsonb
 * value of all of it first (parsed, keys sorted, then taken apart again) cost Postgres more than
 * the row work; `json` is only checked, then each record is read once. Measured on 500-heartbeat
 * batches (20,000 sensors, Postgres 15): devices 46 → 37 µs per heartbeat, health 35 → 22 µs,
 * sensors unchanged (their `last_status` column is jsonb and is converted either way).
 */

/** A column list for `json_to_recordset(...) AS x(<columns>)` and the INSERT naming them. */
function columns(spec: Readonly<Record<string, string>>): { names: string; typed: string } {
  const entries = Object.entries(spec);
  return {
    names: entries.map(([name]) => name).join(", "),
    typed: entries.map(([name, type]) => `${name} ${type}`).join(", "),
  };
}

/** `a = EXCLUDED.a, ...` for every column of `names` except `keys`. */
function updates(names: string, keys: readonly string[]): string {
  return names
    .split(", ")
    .filter((name) => !keys.includes(name))
    .map((name) => `${name} = EXCLUDED.${name}`)
    .join(", ");
}

/** Locations not known to exist yet (`$1`: text[]); skipped (empty) when all are known. */
const insertLocations =
  "INSERT INTO locations (name) SELECT unnest($1::text[]) ORDER BY 1 ON CONFLICT (name) DO NOTHING";

/** Row locks of the batch's known sensors, in name order, with what the status needs. */
export const lockSensors = `SELECT name, status, status_changed_at, last_sequence, last_heartbeat_at,
       heartbeat_interval_s, capture_packets_received, capture_packets_dropped
  FROM sensors WHERE name = ANY ($1::text[]) ORDER BY name FOR UPDATE`;

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
/** One row per sensor of the batch, in name order (the order the locks were taken in). */
const upsertSensors = `INSERT INTO sensors (${sensorCols.names}, first_seen_at)
  SELECT ${sensorCols.names}, last_heartbeat_at FROM json_to_recordset($1::json) AS x(${sensorCols.typed})
  ON CONFLICT (name) DO UPDATE SET ${updates(sensorCols.names, ["name"])}`;

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
/** One `sensor_health` row per heartbeat. */
const insertHealth = `INSERT INTO sensor_health (${healthCols.names})
  SELECT ${healthCols.names} FROM json_to_recordset($1::json) AS x(${healthCols.typed})`;

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
/** The devices of each sensor's latest heartbeat of the batch. */
const upsertDevices = `INSERT INTO devices (${deviceCols.names})
  SELECT ${deviceCols.names} FROM json_to_recordset($1::json) AS x(${deviceCols.typed}) ORDER BY sensor, name
  ON CONFLICT (sensor, name) DO UPDATE SET ${updates(deviceCols.names, ["sensor", "name"])}`;

/** Interfaces a sensor no longer reports are gone from its host. */
const deleteGoneDevices = `DELETE FROM devices d USING json_to_recordset($1::json) AS x(sensor text, names text[])
  WHERE d.sensor = x.sensor AND NOT (d.name = ANY (x.names))`;

/**
 * Traffic rows REPLACE what a replay of the same minute stored. DISTINCT ON: "10.1.2.3/16" and
 * "10.1.0.0/16" are one network, and one statement may not update a row twice; the later row
 * (higher i) of a batch wins, as a replay should.
 */
const upsertTraffic = `INSERT INTO subnet_traffic (location, sensor, minute_start, prefix, direction, bytes, packets)
  SELECT DISTINCT ON (sensor, minute_start, network(prefix), direction)
         location, sensor, minute_start, network(prefix), direction, bytes, packets
    FROM json_to_recordset($1::json) AS x(i int, location text, sensor text, minute_start timestamptz,
                                          prefix inet, direction text, bytes bigint, packets bigint)
   ORDER BY sensor, minute_start, network(prefix), direction, i DESC
  ON CONFLICT (sensor, minute_start, prefix, direction)
  DO UPDATE SET bytes = EXCLUDED.bytes, packets = EXCLUDED.packets, location = EXCLUDED.location`;

/** The batch's status changes. */
const insertHistory = `INSERT INTO sensor_status_history (sensor, status, previous_status, reasons, changed_at)
  SELECT sensor, status, previous_status, reasons, changed_at
    FROM json_to_recordset($1::json) AS x(sensor text, status text, previous_status text, reasons text[],
                                          changed_at timestamptz)`;

/** `statement` reading parameter `$n` instead of `$1`. */
const withParam = (statement: string, n: number): string => statement.replaceAll("$1", `$${n}`);

/**
 * Everything a batch writes, as one statement of data-modifying CTEs: `$1` new locations
 * (text[]), then JSON arrays of `$2` sensor rows, `$3` device rows, `$4` gone-device lists,
 * `$5` health rows, `$6` traffic rows and `$7` status changes (each may be empty).
 *
 * One statement instead of up to seven, because every statement of a transaction is a round trip
 * that waits for the collector's event loop to send the next one: sampled during the load
 * benchmark, the ingest sessions were more often idle in transaction (waiting for the collector)
 * than active. The parts touch disjoint rows (the delete only devices the upsert does not name),
 * and foreign keys are checked at the end of the statement, when a new location and a new
 * sensor exist.
 */
export const writeBatch = `WITH
  new_locations AS (${withParam(insertLocations, 1)}),
  upserted_sensors AS (${withParam(upsertSensors, 2)}),
  upserted_devices AS (${withParam(upsertDevices, 3)}),
  deleted_devices AS (${withParam(deleteGoneDevices, 4)}),
  health AS (${withParam(insertHealth, 5)}),
  traffic AS (${withParam(upsertTraffic, 6)}),
  history AS (${withParam(insertHistory, 7)})
SELECT 1 AS written`;
