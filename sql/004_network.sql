-- 004_network: the network map (collector/src/network). Site metadata of locations; the subnet
-- map's `manual` and `learned` entries with the traffic that backs them; and rollups of
-- subnet_traffic, so the map and the traffic queries aggregate thousands of rows instead of the
-- raw table's tens of millions (a week from 100 sensors).

-- Locations: free-form site metadata (address, contact, rack...) beside the coordinates.
ALTER TABLE locations
  ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- The map: 'static' entries become 'manual' ones (entered by admins); 'learned' ones are written
-- by the learner from source traffic. first/last_seen_at: the first and latest minute of source
-- traffic of the prefix at the location (NULL until some is seen); the learned_* columns are the
-- evidence of the learner's latest decision over its lookback window.
ALTER TABLE subnet_location_map DROP CONSTRAINT subnet_location_map_source_check;
UPDATE subnet_location_map SET source = 'manual' WHERE source = 'static';
ALTER TABLE subnet_location_map
  ALTER COLUMN source SET DEFAULT 'manual',
  ADD CONSTRAINT subnet_location_map_source_check CHECK (source IN ('manual', 'learned')),
  ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN first_seen_at timestamptz,
  ADD COLUMN last_seen_at timestamptz,
  ADD COLUMN learned_bytes bigint,
  ADD COLUMN learned_packets bigint,
  ADD COLUMN learned_share double precision;
CREATE INDEX subnet_location_map_location_idx ON subnet_location_map (location);

-- Hours of subnet_traffic written since the rollups last looked, one row per writing statement
-- and hour (append-only: no unique key, so concurrent ingest statements never wait on each other).
-- The rollup job claims the rows it sees (a lease: `claim` names the run, `claimed_until` when
-- another may take them over), recomputes those hours from the raw table and then deletes the
-- rows of its claim; a row written meanwhile is unclaimed and stays for the next run, and a
-- collector that died mid-run leaves rows whose lease runs out.
CREATE TABLE subnet_traffic_dirty (
  hour_start timestamptz NOT NULL,
  claim text,
  claimed_until timestamptz
);

-- Statement-level, with transition tables: one INSERT per ingest statement whatever its row
-- count. Two triggers because a transition table serves one event, and an ingest replay
-- (ON CONFLICT DO UPDATE) reaches the UPDATE one.
CREATE FUNCTION subnet_traffic_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO subnet_traffic_dirty (hour_start)
    SELECT DISTINCT date_trunc('hour', minute_start, 'UTC') FROM changed_rows;
  RETURN NULL;
END
$$;
CREATE TRIGGER subnet_traffic_dirty_insert AFTER INSERT ON subnet_traffic
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION subnet_traffic_mark_dirty();
CREATE TRIGGER subnet_traffic_dirty_update AFTER UPDATE ON subnet_traffic
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION subnet_traffic_mark_dirty();

-- Rows already stored count as written.
INSERT INTO subnet_traffic_dirty (hour_start)
  SELECT DISTINCT date_trunc('hour', minute_start, 'UTC') FROM subnet_traffic;

-- The rollups. Each level drops what the queries reading it do not need, since the row count is
-- what a query pays for: a site sees hundreds of /24s an hour, so an hour of one location is
-- hundreds of prefix rows but one location row and a few flow rows. first/last_minute bound the
-- minutes with traffic, so "last seen" stays exact to the minute. Location columns carry names
-- without foreign keys, like subnet_traffic.

-- Per hour, location, direction and prefix (the location's sensors summed): the learner's
-- evidence, and per-prefix queries about one location.
CREATE TABLE subnet_traffic_hourly (
  hour_start timestamptz NOT NULL,
  location text NOT NULL,
  direction text NOT NULL CHECK (direction IN ('src', 'dst')),
  prefix cidr NOT NULL,
  bytes bigint NOT NULL,
  packets bigint NOT NULL,
  first_minute timestamptz NOT NULL,
  last_minute timestamptz NOT NULL,
  PRIMARY KEY (hour_start, location, direction, prefix)
);
CREATE INDEX subnet_traffic_hourly_location_idx ON subnet_traffic_hourly (location, hour_start);

-- Per hour and prefix over every location: what it sent and received, and where it was seen.
-- Subnet lists, top subnets and per-prefix series read these (and the daily level for whole days).
CREATE TABLE prefix_traffic_hourly (
  hour_start timestamptz NOT NULL,
  prefix cidr NOT NULL,
  bytes_sent bigint NOT NULL,
  packets_sent bigint NOT NULL,
  bytes_received bigint NOT NULL,
  packets_received bigint NOT NULL,
  seen_at text[] NOT NULL,
  first_minute timestamptz NOT NULL,
  last_minute timestamptz NOT NULL,
  PRIMARY KEY (hour_start, prefix)
);
CREATE TABLE prefix_traffic_daily (
  day_start timestamptz NOT NULL,
  prefix cidr NOT NULL,
  bytes_sent bigint NOT NULL,
  packets_sent bigint NOT NULL,
  bytes_received bigint NOT NULL,
  packets_received bigint NOT NULL,
  seen_at text[] NOT NULL,
  first_minute timestamptz NOT NULL,
  last_minute timestamptz NOT NULL,
  PRIMARY KEY (day_start, prefix)
);

-- Per location and direction (prefixes summed), by minute and by hour: the per-location series
-- and totals.
CREATE TABLE location_traffic_minutely (
  minute_start timestamptz NOT NULL,
  location text NOT NULL,
  direction text NOT NULL CHECK (direction IN ('src', 'dst')),
  bytes bigint NOT NULL,
  packets bigint NOT NULL,
  PRIMARY KEY (minute_start, location, direction)
);
CREATE TABLE location_traffic_hourly (
  hour_start timestamptz NOT NULL,
  location text NOT NULL,
  direction text NOT NULL CHECK (direction IN ('src', 'dst')),
  bytes bigint NOT NULL,
  packets bigint NOT NULL,
  PRIMARY KEY (hour_start, location, direction)
);

-- Traffic from one location to another per hour: what from_location's sensors saw going to
-- destination prefixes the map placed at to_location when the hour was rolled up (see
-- collector/src/network/traffic-queries.ts). A change of the map re-attributes recent hours.
CREATE TABLE location_flows_hourly (
  hour_start timestamptz NOT NULL,
  from_location text NOT NULL,
  to_location text NOT NULL,
  bytes bigint NOT NULL,
  packets bigint NOT NULL,
  PRIMARY KEY (hour_start, from_location, to_location)
);

-- Revisions of the manual entries: a trigger counts changes of which prefix goes where (not
-- descriptions or seen times), so the maintainer can tell that flows need re-attributing, whichever
-- collector took the change.
CREATE TABLE subnet_map_state (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  manual_revision bigint NOT NULL DEFAULT 0,
  flows_revision bigint NOT NULL DEFAULT 0
);
INSERT INTO subnet_map_state DEFAULT VALUES;

CREATE FUNCTION subnet_map_manual_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE subnet_map_state SET manual_revision = manual_revision + 1;
  RETURN NULL;
END
$$;
CREATE TRIGGER subnet_map_manual_insert AFTER INSERT ON subnet_location_map
  FOR EACH ROW WHEN (NEW.source = 'manual') EXECUTE FUNCTION subnet_map_manual_changed();
CREATE TRIGGER subnet_map_manual_update AFTER UPDATE ON subnet_location_map
  FOR EACH ROW WHEN ((OLD.source = 'manual' OR NEW.source = 'manual')
                     AND (OLD.prefix, OLD.location, OLD.source) IS DISTINCT FROM (NEW.prefix, NEW.location, NEW.source))
  EXECUTE FUNCTION subnet_map_manual_changed();
CREATE TRIGGER subnet_map_manual_delete AFTER DELETE ON subnet_location_map
  FOR EACH ROW WHEN (OLD.source = 'manual') EXECUTE FUNCTION subnet_map_manual_changed();
