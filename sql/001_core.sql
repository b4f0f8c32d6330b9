-- 001_core: sensors, their devices, health and status history, locations, subnet traffic and
-- maintenance records. Runs on PostgreSQL 15+ and on PGlite; applied in one transaction.
--
-- Time-partitioned tables (sensor_health, sensor_status_history, subnet_traffic) are
-- PARTITION BY RANGE on a NOT NULL timestamptz column with a `<table>_default` partition, so an
-- insert never fails for lack of a partition; the partition manager
-- (collector/src/partitions) creates the daily `<table>_pYYYYMMDD` partitions and drops old ones.
-- They carry the sensor's name rather than a foreign key: rows outlive nothing (retention drops
-- whole partitions) and a foreign key check per row would cost the ingest hot path.

-- Sites where sensors capture. Created on the first heartbeat naming them.
CREATE TABLE locations (
  name text PRIMARY KEY CHECK (name <> ''),
  description text NOT NULL DEFAULT '',
  latitude double precision CHECK (latitude BETWEEN -90 AND 90),
  longitude double precision CHECK (longitude BETWEEN -180 AND 180),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per sensor, registered by its first heartbeat. Status is computed by the collector
-- (never reported by the agent); the summary columns after last_status mirror the latest
-- heartbeat so listing 20,000 sensors never has to open the JSON snapshot.
CREATE TABLE sensors (
  name text PRIMARY KEY CHECK (name <> ''),
  location text NOT NULL REFERENCES locations (name) ON UPDATE CASCADE,
  version text NOT NULL DEFAULT '',
  agent_address text NOT NULL DEFAULT '',
  hostname text NOT NULL DEFAULT '',
  status text NOT NULL DEFAULT 'online' CHECK (status IN ('online', 'degraded', 'offline')),
  status_reasons text[] NOT NULL DEFAULT '{}',
  status_changed_at timestamptz NOT NULL DEFAULT now(),
  last_heartbeat_at timestamptz NOT NULL DEFAULT now(),
  last_sequence bigint NOT NULL DEFAULT 0,
  -- The latest SensorStatus as proto JSON (snake_case field names), served by the API as is.
  last_status jsonb NOT NULL DEFAULT '{}',
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  -- Observed (or configured) seconds between heartbeats; offline after N of them are missed.
  heartbeat_interval_s double precision NOT NULL DEFAULT 10 CHECK (heartbeat_interval_s > 0),
  cpu_percent double precision,
  memory_percent double precision,
  disk_used_percent double precision,
  pcap_bytes bigint NOT NULL DEFAULT 0,
  pcap_oldest_at timestamptz,
  pcap_newest_at timestamptz,
  retention_hours double precision,
  -- Capture counters of the latest heartbeat, so the next one's drop rate covers one interval.
  capture_packets_received bigint NOT NULL DEFAULT 0,
  capture_packets_dropped bigint NOT NULL DEFAULT 0
);
CREATE INDEX sensors_location_idx ON sensors (location);
CREATE INDEX sensors_status_idx ON sensors (status);
-- The offline sweeper's scan: only sensors not yet offline, by age of their last heartbeat.
CREATE INDEX sensors_heartbeat_idx ON sensors (last_heartbeat_at) WHERE status <> 'offline';

-- Network interfaces of each sensor host, as of its latest heartbeat.
CREATE TABLE devices (
  sensor text NOT NULL REFERENCES sensors (name) ON DELETE CASCADE ON UPDATE CASCADE,
  name text NOT NULL,
  state text NOT NULL DEFAULT 'unspecified'
    CHECK (state IN ('unspecified', 'up', 'down', 'not_present')),
  speed_mbps bigint NOT NULL DEFAULT 0,
  rx_bytes bigint NOT NULL DEFAULT 0,
  tx_bytes bigint NOT NULL DEFAULT 0,
  rx_packets bigint NOT NULL DEFAULT 0,
  tx_packets bigint NOT NULL DEFAULT 0,
  rx_dropped bigint NOT NULL DEFAULT 0,
  tx_dropped bigint NOT NULL DEFAULT 0,
  rx_errors bigint NOT NULL DEFAULT 0,
  tx_errors bigint NOT NULL DEFAULT 0,
  capturing boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (sensor, name)
);

-- Every status change (including the first status of a new sensor: previous_status NULL).
CREATE TABLE sensor_status_history (
  sensor text NOT NULL,
  status text NOT NULL CHECK (status IN ('online', 'degraded', 'offline')),
  previous_status text CHECK (previous_status IN ('online', 'degraded', 'offline')),
  reasons text[] NOT NULL DEFAULT '{}',
  changed_at timestamptz NOT NULL
) PARTITION BY RANGE (changed_at);
CREATE TABLE sensor_status_history_default PARTITION OF sensor_status_history DEFAULT;
CREATE INDEX sensor_status_history_changed_idx ON sensor_status_history (changed_at);
CREATE INDEX sensor_status_history_sensor_idx ON sensor_status_history (sensor, changed_at);

-- One row per heartbeat: host health and store figures (summed or worst over the stores).
CREATE TABLE sensor_health (
  sensor text NOT NULL,
  received_at timestamptz NOT NULL,
  sequence bigint NOT NULL DEFAULT 0,
  cpu_percent double precision,
  memory_total_bytes bigint,
  memory_used_bytes bigint,
  memory_percent double precision,
  load_1m double precision,
  load_5m double precision,
  load_15m double precision,
  agent_rss_bytes bigint,
  agent_uptime_s bigint,
  disk_used_percent double precision,
  disk_free_bytes bigint,
  pcap_bytes bigint,
  pcap_files bigint,
  pcap_oldest_at timestamptz,
  pcap_newest_at timestamptz,
  ingest_bytes_per_second double precision,
  retention_hours double precision,
  corrupt_files bigint,
  packets_received bigint,
  packets_dropped bigint,
  -- Drops over the last interval (or over the counters' lifetime on the first heartbeat), %.
  drop_percent double precision
) PARTITION BY RANGE (received_at);
CREATE TABLE sensor_health_default PARTITION OF sensor_health DEFAULT;
CREATE INDEX sensor_health_sensor_idx ON sensor_health (sensor, received_at);

-- Storage and maintenance work run by admins (cleanups, reindexing, partition maintenance).
CREATE TABLE maintenance_operations (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL,
  target text NOT NULL DEFAULT '',
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'complete', 'failed')),
  requested_by text,
  details jsonb NOT NULL DEFAULT '{}',
  error text,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX maintenance_operations_started_idx ON maintenance_operations (started_at);

-- Which location sees which subnet: job routing and the network map. A prefix may be seen at
-- several locations; `source` tells configured entries from learned ones.
CREATE TABLE subnet_location_map (
  prefix cidr NOT NULL,
  location text NOT NULL REFERENCES locations (name) ON DELETE CASCADE ON UPDATE CASCADE,
  source text NOT NULL DEFAULT 'static' CHECK (source IN ('static', 'learned')),
  description text NOT NULL DEFAULT '',
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (prefix, location)
);
-- "Which prefixes contain this address" (`prefix >>= $ip`) for routing.
CREATE INDEX subnet_location_map_prefix_gist ON subnet_location_map USING gist (prefix inet_ops);

-- Per-minute traffic per subnet and direction, one table for every location (the seed had a
-- table per location). The primary key makes a replayed summary (agents resend rows until
-- acked) replace the stored row instead of adding to it.
CREATE TABLE subnet_traffic (
  location text NOT NULL,
  sensor text NOT NULL,
  minute_start timestamptz NOT NULL,
  prefix cidr NOT NULL,
  direction text NOT NULL CHECK (direction IN ('src', 'dst')),
  bytes bigint NOT NULL DEFAULT 0,
  packets bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (sensor, minute_start, prefix, direction)
) PARTITION BY RANGE (minute_start);
CREATE TABLE subnet_traffic_default PARTITION OF subnet_traffic DEFAULT;
CREATE INDEX subnet_traffic_minute_idx ON subnet_traffic (minute_start);
CREATE INDEX subnet_traffic_location_idx ON subnet_traffic (location, minute_start);
