-- 003_jobs: PCAP jobs, their per-sensor tasks and their results. The tables are the durable
-- queue: collectors claim work with FOR UPDATE SKIP LOCKED and hold it under a lease they renew
-- while it runs, so a job survives a collector restart and several collectors never run one
-- task twice (collector/src/jobs/queue.ts).

-- One request for the packets of a window: who asked, what, from which sensors.
CREATE TABLE jobs (
  id uuid PRIMARY KEY,
  owner text NOT NULL,
  description text NOT NULL DEFAULT '',
  start_time timestamptz NOT NULL,
  end_time timestamptz NOT NULL CHECK (end_time > start_time),
  -- The body as submitted (validated), for display and the gRPC JobSpec.
  spec jsonb NOT NULL,
  -- The tcpdump expression the agents run: conversation fields and filter, ANDed.
  effective_filter text NOT NULL DEFAULT '',
  max_bytes bigint NOT NULL CHECK (max_bytes > 0),
  scheduled_at timestamptz,
  status text NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'running', 'complete', 'partial', 'failed', 'cancelled')),
  error_message text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  -- The merge of the finished tasks: one collector claims it under a lease.
  merge_owner text,
  merge_lease_until timestamptz,
  -- Bumped on every change of the job or a task, so watchers can tell what is new.
  version bigint NOT NULL DEFAULT 0
);
CREATE INDEX jobs_created_idx ON jobs (created_at DESC);
CREATE INDEX jobs_owner_idx ON jobs (owner, created_at DESC);
-- Jobs still to finish: the engine's scans touch only these.
CREATE INDEX jobs_open_idx ON jobs (status) WHERE status IN ('queued', 'running');

-- One sensor's part of a job.
CREATE TABLE tasks (
  id uuid PRIMARY KEY,
  job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  sensor text NOT NULL,
  -- Why this sensor was chosen: named, location X, all sensors...
  routed_by text NOT NULL DEFAULT '',
  status text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'running', 'complete', 'no_data', 'failed', 'cancelled')),
  error_code text CHECK (error_code IN ('no_data_in_range', 'sensor_offline', 'filter_invalid',
    'size_capped', 'timeout', 'storage_io', 'agent_error')),
  error_message text,
  attempts integer NOT NULL DEFAULT 0,
  -- A pending task is not claimed before this (exponential backoff after a transient failure).
  not_before timestamptz NOT NULL DEFAULT now(),
  -- The collector running it and until when its claim holds without renewal.
  lease_owner text,
  lease_until timestamptz,
  -- Bytes of the slice received so far (where a retry resumes), and the totals once done.
  received_bytes bigint NOT NULL DEFAULT 0,
  -- The agent's estimate of the whole slice, for progress (0 when unknown).
  expected_bytes bigint NOT NULL DEFAULT 0,
  packets bigint NOT NULL DEFAULT 0,
  bytes bigint NOT NULL DEFAULT 0,
  sha256 text,
  truncated boolean NOT NULL DEFAULT false,
  -- Capture files the agent could not read for this slice (path, reason, detail).
  skipped_files jsonb NOT NULL DEFAULT '[]',
  started_at timestamptz,
  finished_at timestamptz,
  UNIQUE (job_id, sensor)
);
CREATE INDEX tasks_job_idx ON tasks (job_id);
-- The claim scan: pending tasks by due time, and running ones by lease expiry.
CREATE INDEX tasks_pending_idx ON tasks (not_before) WHERE status = 'pending';
CREATE INDEX tasks_running_idx ON tasks (sensor, lease_until) WHERE status = 'running';

-- The merged result of a finished job. The row outlives the file: retention deletes the file
-- and sets expired_at, the metadata (sizes, hashes, analysis) stays for the record.
CREATE TABLE job_results (
  job_id uuid PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
  path text NOT NULL,
  format text NOT NULL CHECK (format IN ('pcap', 'pcapng')),
  packets bigint NOT NULL,
  bytes bigint NOT NULL,
  sha256 text NOT NULL,
  truncated boolean NOT NULL DEFAULT false,
  analysis jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  expired_at timestamptz
);
CREATE INDEX job_results_live_idx ON job_results (created_at) WHERE expired_at IS NULL;
