/**
 * ListSensors: the sensors table as `Sensor` messages. The last heartbeat's status is stored as
 * the API's snake_case JSON (ingest/status-json.ts), so it is turned back into a SensorStatus
 * here, field by field and tolerant of keys an older collector did not write. Packet times come
 * back at the millisecond precision they were stored with.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { AppError, ErrorCode } from "@pcapfleet/core";
import {
  DeviceStateSchema,
  type SensorSchema,
  SensorStateSchema,
  type SensorStatusSchema,
  StoreStateSchema,
  TaskKindSchema,
} from "@pcapfleet/proto";
import type { Db } from "../../db/index.js";
import { locationNameSchema, sensorNamePattern } from "../../routes/sensor-schemas.js";
import { enumNumber, timestampFromIso } from "./job-proto.js";

type Json = Readonly<Record<string, unknown>>;

const obj = (value: unknown): Json =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
const list = (value: unknown): Json[] => (Array.isArray(value) ? value.map(obj) : []);
const str = (value: unknown): string => (typeof value === "string" ? value : "");
const num = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) ? value : 0);
const count = (value: unknown): bigint => BigInt(Math.max(0, Math.trunc(num(value))));
const nsOf = (iso: unknown): bigint => {
  const ms = typeof iso === "string" ? Date.parse(iso) : Number.NaN;
  return Number.isFinite(ms) ? BigInt(ms) * 1_000_000n : 0n;
};

/** A SensorStatus from its stored JSON (`sensors.last_status`). */
export function statusFromJson(value: unknown): MessageInitShape<typeof SensorStatusSchema> {
  const status = obj(value);
  const identity = obj(status["identity"]);
  const health =
    status["health"] === null || status["health"] === undefined ? undefined : obj(status["health"]);
  return {
    identity: {
      name: str(identity["name"]),
      location: str(identity["location"]),
      version: str(identity["version"]),
      agentAddress: str(identity["agent_address"]),
      hostname: str(identity["hostname"]),
    },
    health:
      health === undefined
        ? undefined
        : {
            cpuPercent: num(health["cpu_percent"]),
            memoryTotalBytes: count(health["memory_total_bytes"]),
            memoryUsedBytes: count(health["memory_used_bytes"]),
            load1m: num(health["load_1m"]),
            load5m: num(health["load_5m"]),
            load15m: num(health["load_15m"]),
            hostUptimeSeconds: count(health["host_uptime_seconds"]),
            agentUptimeSeconds: count(health["agent_uptime_seconds"]),
            agentRssBytes: count(health["agent_rss_bytes"]),
          },
    stores: list(status["stores"]).map((store) => {
      const disk = store["disk"] === null ? undefined : obj(store["disk"]);
      const pcap = store["pcap"] === null ? undefined : obj(store["pcap"]);
      return {
        path: str(store["path"]),
        state: enumNumber(StoreStateSchema, str(store["state"])),
        error: str(store["error"]),
        disk:
          disk === undefined
            ? undefined
            : {
                sizeBytes: count(disk["size_bytes"]),
                usedBytes: count(disk["used_bytes"]),
                freeBytes: count(disk["free_bytes"]),
                usedPercent: num(disk["used_percent"]),
              },
        pcap:
          pcap === undefined
            ? undefined
            : {
                oldestPacketNs: nsOf(pcap["oldest_packet_at"]),
                newestPacketNs: nsOf(pcap["newest_packet_at"]),
                bytes: count(pcap["bytes"]),
                files: count(pcap["files"]),
                ingestBytesPerSecond: num(pcap["ingest_bytes_per_second"]),
                retentionForecastHours: num(pcap["retention_forecast_hours"]),
              },
        corruptFiles: count(store["corrupt_files"]),
      };
    }),
    devices: list(status["devices"]).map((device) => ({
      name: str(device["name"]),
      state: enumNumber(DeviceStateSchema, str(device["state"])),
      speedMbps: count(device["speed_mbps"]),
      rxBytes: count(device["rx_bytes"]),
      txBytes: count(device["tx_bytes"]),
      rxPackets: count(device["rx_packets"]),
      txPackets: count(device["tx_packets"]),
      rxDropped: count(device["rx_dropped"]),
      txDropped: count(device["tx_dropped"]),
      rxErrors: count(device["rx_errors"]),
      txErrors: count(device["tx_errors"]),
      capturing: device["capturing"] === true,
    })),
    capture: list(status["capture"]).map((handle) => ({
      interface: str(handle["interface"]),
      packetsReceived: count(handle["packets_received"]),
      packetsDroppedKernel: count(handle["packets_dropped_kernel"]),
      packetsDroppedInterface: count(handle["packets_dropped_interface"]),
    })),
    busyTasks: list(status["busy_tasks"]).map((task) => ({
      taskId: str(task["task_id"]),
      jobId: str(task["job_id"]),
      kind: enumNumber(TaskKindSchema, str(task["kind"])),
      startedAt: typeof task["started_at"] === "string" ? timestampFromIso(task["started_at"]) : undefined,
      progress: num(task["progress"]),
      bytesDone: count(task["bytes_done"]),
      packetsDone: count(task["packets_done"]),
    })),
  };
}

/** A page of {@link listSensors}. */
export interface SensorPage {
  readonly sensors: MessageInitShape<typeof SensorSchema>[];
  /** Name to pass as `after` for the next page; empty on the last one. */
  readonly nextAfter: string;
}

interface SensorRow {
  name: string;
  location: string;
  version: string;
  agent_address: string;
  hostname: string;
  status: string;
  last_heartbeat_at: Date;
  last_status: unknown;
}

/**
 * Sensors by name, of one location when `location` is not empty, `limit` (1–1000, 0 for 200)
 * after the sensor named `after`. Pages keep one answer under gRPC's 4 MiB default with each
 * sensor's full status (a few KiB).
 */
export async function listSensors(
  db: Db,
  query: { location: string; limit: number; after: string },
): Promise<SensorPage> {
  if (query.location !== "" && !locationNameSchema.safeParse(query.location).success) {
    throw new AppError(
      ErrorCode.InvalidArgument,
      `location: not a location name: ${query.location.slice(0, 64)}`,
    );
  }
  if (query.after !== "" && !sensorNamePattern.test(query.after)) {
    throw new AppError(ErrorCode.InvalidArgument, `after: not a sensor name: ${query.after.slice(0, 64)}`);
  }
  if (query.limit > 1000) throw new AppError(ErrorCode.InvalidArgument, "limit: at most 1000");
  const limit = query.limit === 0 ? 200 : query.limit;
  const { rows } = await db.query<SensorRow>(
    `SELECT name, location, version, agent_address, hostname, status, last_heartbeat_at, last_status
       FROM sensors
      WHERE ($1::text IS NULL OR location = $1) AND ($2::text IS NULL OR name > $2)
      ORDER BY name LIMIT $3`,
    [query.location === "" ? null : query.location, query.after === "" ? null : query.after, limit],
  );
  const sensors = rows.map((row) => ({
    identity: {
      name: row.name,
      location: row.location,
      version: row.version,
      agentAddress: row.agent_address,
      hostname: row.hostname,
    },
    state: enumNumber(SensorStateSchema, row.status),
    lastHeartbeatAt: timestampFromIso(new Date(row.last_heartbeat_at).toISOString()),
    status: statusFromJson(row.last_status),
  }));
  const last = rows.at(-1);
  return { sensors, nextAfter: rows.length === limit && last !== undefined ? last.name : "" };
}
