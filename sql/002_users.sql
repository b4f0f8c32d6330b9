-- Users, login sessions (refresh-token families), preferences, signing keys and the audit log.
-- Owned by the auth/users feature (collector/src/auth, collector/src/users, collector/src/audit).
-- No foreign keys to 001_core.sql, so this file applies on its own.

CREATE TABLE users (
  id bigserial PRIMARY KEY,
  username text NOT NULL UNIQUE,
  -- NULL for directory (LDAP) users: their password lives in the directory only.
  password_hash text,
  role text NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
  source text NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'ldap')),
  disabled boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_login_at timestamptz,
  CHECK (source = 'ldap' OR password_hash IS NOT NULL)
);

-- One row per login: the refresh-token family. Only the hash of the one live refresh token is
-- kept; presenting any other token of the family is reuse and revokes the whole row.
CREATE TABLE user_sessions (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  current_token_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  rotated_at timestamptz,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoke_reason text,
  user_agent text,
  ip text
);
CREATE INDEX user_sessions_user_idx ON user_sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE user_preferences (
  user_id bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  theme text NOT NULL DEFAULT 'system' CHECK (theme IN ('light', 'dark', 'system')),
  time_zone text NOT NULL DEFAULT 'UTC',
  default_location text,
  table_density text NOT NULL DEFAULT 'comfortable' CHECK (table_density IN ('compact', 'comfortable')),
  avatar bytea,
  avatar_content_type text CHECK (avatar_content_type IN ('image/png', 'image/jpeg')),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((avatar IS NULL) = (avatar_content_type IS NULL))
);

-- JWT signing keys generated at first start when the configuration names none, so restarts
-- (and other collectors on the same database) keep verifying issued tokens.
CREATE TABLE auth_signing_keys (
  kid text PRIMARY KEY,
  secret text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Partitioned by day; the partition manager creates the daily partitions ahead of time and
-- drops those past retention. Rows outside any daily partition land in the default one.
CREATE TABLE audit_log (
  id bigserial NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  target text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  ip text,
  PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, at DESC);
