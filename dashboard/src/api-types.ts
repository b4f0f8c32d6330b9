/**
 * The collector API's JSON shapes the dashboard reads (`/api/v1/openapi.json` is the source of
 * truth; these name only the fields the pages use). Times are RFC 3339 strings. The job API's
 * shapes are in job-types.ts.
 */
import type { JobProgressMessage } from "./job-types.js";

/** A user's role; each includes the ones before it (viewer < analyst < admin). */
export const Role = {
  viewer: "viewer",
  analyst: "analyst",
  admin: "admin",
} as const;

/** One of {@link Role}'s values. */
export type Role = (typeof Role)[keyof typeof Role];

/** Every role, lowest first. */
export const ROLES: readonly Role[] = Object.values(Role);

/** The logged-in user as `POST /login` names them. */
export interface SessionUser {
  readonly username: string;
  readonly role: Role;
}

/** `POST /login` and `POST /refresh`. */
export interface TokenPair {
  readonly access_token: string;
  readonly refresh_token: string;
  /** Seconds until the access token expires. */
  readonly expires_in: number;
  readonly user: SessionUser;
}

/** Computed sensor status. */
export type SensorState = "online" | "degraded" | "offline";

/** One row of `GET /sensors`. */
export interface SensorSummary {
  readonly name: string;
  readonly location: string;
  readonly status: SensorState;
  readonly status_reasons: readonly string[];
  readonly status_changed_at: string;
  readonly version: string;
  readonly hostname: string;
  readonly agent_address: string;
  readonly first_seen_at: string;
  readonly last_heartbeat_at: string;
  readonly heartbeat_interval_s: number;
  readonly cpu_percent: number | null;
  readonly memory_percent: number | null;
  readonly disk_used_percent: number | null;
  readonly pcap_bytes: number;
  readonly pcap_oldest_at: string | null;
  readonly pcap_newest_at: string | null;
  readonly retention_hours: number | null;
}

/** `GET /sensors/{name}/status`: the summary plus the agent's last full report. */
export interface SensorStatusReport extends SensorSummary {
  readonly last_status: SensorReport;
}

/** The agent's report as the collector stores it (`ingest/status-json.ts`). */
export interface SensorReport {
  readonly health?: {
    readonly cpu_percent: number | null;
    readonly memory_total_bytes: number;
    readonly memory_used_bytes: number;
    readonly load_1m: number | null;
    readonly host_uptime_seconds: number;
    readonly agent_uptime_seconds: number;
  } | null;
  readonly stores?: readonly {
    readonly path: string;
    readonly state: string;
    readonly error: string;
    readonly disk: { readonly size_bytes: number; readonly used_percent: number | null } | null;
    readonly pcap: {
      readonly oldest_packet_at: string | null;
      readonly newest_packet_at: string | null;
      readonly bytes: number;
      readonly files: number;
      readonly ingest_bytes_per_second: number | null;
      readonly retention_forecast_hours: number | null;
    } | null;
    readonly corrupt_files: number;
  }[];
  readonly capture?: readonly {
    readonly interface: string;
    readonly packets_received: number;
    readonly packets_dropped_kernel: number;
    readonly packets_dropped_interface: number;
  }[];
  readonly busy_tasks?: readonly {
    readonly task_id: string;
    readonly job_id: string;
    readonly kind: string;
    readonly started_at: string | null;
    readonly progress: number | null;
    readonly bytes_done: number;
  }[];
}

/** One network interface (`GET /sensors/{name}/devices`). */
export interface Device {
  readonly name: string;
  readonly state: string;
  readonly speed_mbps: number;
  readonly rx_bytes: number;
  readonly tx_bytes: number;
  readonly rx_packets: number;
  readonly tx_packets: number;
  readonly rx_dropped: number;
  readonly tx_dropped: number;
  readonly rx_errors: number;
  readonly tx_errors: number;
  readonly capturing: boolean;
}

/** One status change (`GET /sensors/activity`). */
export interface SensorActivity {
  readonly sensor: string;
  readonly location: string | null;
  readonly status: SensorState;
  readonly previous_status: SensorState | null;
  readonly reasons: readonly string[];
  readonly changed_at: string;
}

/** Sensors per status. */
export interface StatusCounts {
  readonly online: number;
  readonly degraded: number;
  readonly offline: number;
  readonly total: number;
}

/** `GET /health/summary`. */
export interface HealthSummary {
  readonly sensors: StatusCounts;
  readonly locations: number;
  readonly pcap: {
    readonly bytes: number;
    readonly oldest_at: string | null;
    readonly newest_at: string | null;
  };
}

/** One location (`GET /locations`). */
export interface Location {
  readonly name: string;
  readonly sensor_count: number;
}

/** `GET|PUT /preferences`. */
export interface Preferences {
  readonly theme: "light" | "dark" | "system";
  readonly time_zone: string;
  readonly default_location: string | null;
  readonly table_density: "comfortable" | "compact";
  readonly has_avatar: boolean;
}

/** One user (`GET /admin/users`). */
export interface User {
  readonly username: string;
  readonly role: Role;
  readonly source: "local" | "ldap";
  readonly disabled: boolean;
  readonly created_at: string;
  readonly last_login_at: string | null;
}

/** One audit entry (`GET /admin/audit`). */
export interface AuditEntry {
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string | null;
  readonly details: Readonly<Record<string, unknown>>;
  readonly ip: string | null;
}

/** One log line (`GET /admin/logs`). */
export interface LogLine {
  readonly level: string;
  readonly time: string;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A realtime message on `/api/v1/ws`. */
export type RealtimeMessage =
  | { readonly type: "hello"; readonly user: string; readonly role: string }
  | {
      readonly type: "sensor.status";
      readonly sensor: string;
      readonly status: SensorState;
      readonly reasons: readonly string[];
      readonly at: string;
    }
  | JobProgressMessage;
