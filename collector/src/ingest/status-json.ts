import { DeviceState, type SensorStatus, StoreState, TaskKind } from "@pcapfleet/proto";
import { cleanText, isoFromMs, msFromNs, numberOrNull } from "./values.js";

/**
 * The snake_case JSON of a SensorStatus that the collector stores (`sensors.last_status`) and
 * the REST API serves: counters as JSON numbers, packet times as ISO 8601, enums as lower-case
 * words. Written out field by field (rather than protobuf JSON) so the API's shape is decided
 * here, on purpose, and cannot shift when the .proto file grows.
 */

/** A JSON value as stored in a jsonb column. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
/** A JSON object. */
export interface JsonObject {
  [key: string]: JsonValue;
}

const storeState: Record<number, string> = {
  [StoreState.OK]: "ok",
  [StoreState.DEGRADED]: "degraded",
  [StoreState.UNREADABLE]: "unreadable",
  [StoreState.MISSING]: "missing",
};
const deviceState: Record<number, string> = {
  [DeviceState.UP]: "up",
  [DeviceState.DOWN]: "down",
  [DeviceState.NOT_PRESENT]: "not_present",
};
/** Task kinds by enum value (absent: "unspecified"). */
export const taskKind: Record<number, string> = {
  [TaskKind.SLICE]: "slice",
  [TaskKind.ESTIMATE]: "estimate",
  [TaskKind.INDEX]: "index",
};

const text = (value: string) => cleanText(value, 512);
const num = (value: number) => numberOrNull(value);
const count = (value: bigint) => Number(value);
const nsTime = (ns: bigint) => {
  const ms = msFromNs(ns);
  return ms === null ? null : isoFromMs(ms);
};

/** The JSON of one SensorStatus. */
export function sensorStatusJson(status: SensorStatus): JsonObject {
  const { identity, health } = status;
  return {
    identity: {
      name: text(identity?.name ?? ""),
      location: text(identity?.location ?? ""),
      version: text(identity?.version ?? ""),
      agent_address: text(identity?.agentAddress ?? ""),
      hostname: text(identity?.hostname ?? ""),
    },
    health:
      health === undefined
        ? null
        : {
            cpu_percent: num(health.cpuPercent),
            memory_total_bytes: count(health.memoryTotalBytes),
            memory_used_bytes: count(health.memoryUsedBytes),
            load_1m: num(health.load1m),
            load_5m: num(health.load5m),
            load_15m: num(health.load15m),
            host_uptime_seconds: count(health.hostUptimeSeconds),
            agent_uptime_seconds: count(health.agentUptimeSeconds),
            agent_rss_bytes: count(health.agentRssBytes),
          },
    stores: status.stores.map((store) => ({
      path: text(store.path),
      state: storeState[store.state] ?? "unspecified",
      error: text(store.error),
      disk:
        store.disk === undefined
          ? null
          : {
              size_bytes: count(store.disk.sizeBytes),
              used_bytes: count(store.disk.usedBytes),
              free_bytes: count(store.disk.freeBytes),
              used_percent: num(store.disk.usedPercent),
            },
      pcap:
        store.pcap === undefined
          ? null
          : {
              oldest_packet_at: nsTime(store.pcap.oldestPacketNs),
              newest_packet_at: nsTime(store.pcap.newestPacketNs),
              bytes: count(store.pcap.bytes),
              files: count(store.pcap.files),
              ingest_bytes_per_second: num(store.pcap.ingestBytesPerSecond),
              retention_forecast_hours: num(store.pcap.retentionForecastHours),
            },
      corrupt_files: count(store.corruptFiles),
    })),
    devices: status.devices.map((device) => ({
      name: text(device.name),
      state: deviceState[device.state] ?? "unspecified",
      speed_mbps: count(device.speedMbps),
      rx_bytes: count(device.rxBytes),
      tx_bytes: count(device.txBytes),
      rx_packets: count(device.rxPackets),
      tx_packets: count(device.txPackets),
      rx_dropped: count(device.rxDropped),
      tx_dropped: count(device.txDropped),
      rx_errors: count(device.rxErrors),
      tx_errors: count(device.txErrors),
      capturing: device.capturing,
    })),
    capture: status.capture.map((handle) => ({
      interface: text(handle.interface),
      packets_received: count(handle.packetsReceived),
      packets_dropped_kernel: count(handle.packetsDroppedKernel),
      packets_dropped_interface: count(handle.packetsDroppedInterface),
    })),
    busy_tasks: status.busyTasks.map((task) => ({
      task_id: text(task.taskId),
      job_id: text(task.jobId),
      kind: taskKind[task.kind] ?? "unspecified",
      started_at:
        task.startedAt === undefined
          ? null
          : nsTime(task.startedAt.seconds * 1_000_000_000n + BigInt(Math.trunc(task.startedAt.nanos))),
      progress: num(task.progress),
      bytes_done: count(task.bytesDone),
      packets_done: count(task.packetsDone),
    })),
  };
}
