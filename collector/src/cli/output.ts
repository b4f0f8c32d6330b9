/**
 * What the CLI prints: jobs and sensors as plain JSON objects (`--json`; snake_case keys and
 * lower-case states, as the REST API writes them, so scripts can use either surface) and as
 * aligned text tables for people.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import {
  type Job,
  JobStatusSchema,
  type Sensor,
  SensorStateSchema,
  StoreStateSchema,
  type Task,
  TaskErrorSchema,
  TaskStatusSchema,
} from "@pcapfleet/proto";
import { enumWord, isoFromTimestamp } from "../jobs/grpc/job-proto.js";

const iso = (ts: Timestamp | undefined): string | null =>
  ts === undefined ? null : isoFromTimestamp(ts, "time");
const nsIso = (ns: bigint): string | null =>
  ns <= 0n ? null : new Date(Number(ns / 1_000_000n)).toISOString();

/** Nanosecond times in ascending order (bigints: Math.min cannot compare them). */
const sortNs = (values: bigint[]): bigint[] => [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** A task as JSON. */
export function taskJson(task: Task): Record<string, unknown> {
  return {
    id: task.id,
    sensor: task.sensor,
    status: enumWord(TaskStatusSchema, task.status),
    error_code: task.error === 0 ? null : enumWord(TaskErrorSchema, task.error),
    error_message: task.errorMessage === "" ? null : task.errorMessage,
    progress: task.progress,
    packets: Number(task.packets),
    bytes: Number(task.bytes),
    attempts: task.attempts,
    truncated: task.truncated,
    started_at: iso(task.startedAt),
    finished_at: iso(task.finishedAt),
  };
}

/** A job as JSON; with its tasks when the message has them. */
export function jobJson(job: Job): Record<string, unknown> {
  const spec = job.spec;
  return {
    id: job.id,
    status: enumWord(JobStatusSchema, job.status),
    owner: job.owner,
    description: spec?.description ?? "",
    start_time: iso(spec?.startTime),
    end_time: iso(spec?.endTime),
    effective_filter: job.effectiveFilter,
    created_at: iso(job.createdAt),
    started_at: iso(job.startedAt),
    finished_at: iso(job.finishedAt),
    progress: job.progress,
    packets: Number(job.packets),
    bytes: Number(job.bytes),
    sha256: job.sha256 === "" ? null : job.sha256,
    truncated: job.truncated,
    result_expired_at: iso(job.resultExpiredAt),
    error_message: job.errorMessage === "" ? null : job.errorMessage,
    tasks: job.tasks.map(taskJson),
  };
}

/** A sensor as JSON: identity, state and what its stores hold. */
export function sensorJson(sensor: Sensor): Record<string, unknown> {
  const stores = sensor.status?.stores ?? [];
  const oldest = stores.map((s) => s.pcap?.oldestPacketNs ?? 0n).filter((ns) => ns > 0n);
  const newest = stores.map((s) => s.pcap?.newestPacketNs ?? 0n).filter((ns) => ns > 0n);
  return {
    name: sensor.identity?.name ?? "",
    location: sensor.identity?.location ?? "",
    state: enumWord(SensorStateSchema, sensor.state),
    version: sensor.identity?.version ?? "",
    hostname: sensor.identity?.hostname ?? "",
    agent_address: sensor.identity?.agentAddress ?? "",
    last_heartbeat_at: iso(sensor.lastHeartbeatAt),
    pcap_oldest_at: oldest.length === 0 ? null : nsIso(sortNs(oldest)[0] ?? 0n),
    pcap_newest_at: newest.length === 0 ? null : nsIso(sortNs(newest).at(-1) ?? 0n),
    pcap_bytes: stores.reduce((sum, s) => sum + Number(s.pcap?.bytes ?? 0n), 0),
    stores: stores.map((s) => ({
      path: s.path,
      state: enumWord(StoreStateSchema, s.state),
      error: s.error === "" ? null : s.error,
      oldest_packet_at: nsIso(s.pcap?.oldestPacketNs ?? 0n),
      newest_packet_at: nsIso(s.pcap?.newestPacketNs ?? 0n),
      bytes: Number(s.pcap?.bytes ?? 0n),
      files: Number(s.pcap?.files ?? 0n),
    })),
  };
}

/** `1.5 MiB`-style sizes. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A time for a table: seconds precision, no milliseconds; "-" for none. */
export function shortTime(text: unknown): string {
  return typeof text === "string" ? text.replace(/\.\d+Z$/, "Z") : "-";
}

/** Left-aligned columns separated by two spaces, header first. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}

/** Jobs as a table, one row each. */
export function jobsTable(jobs: readonly Record<string, unknown>[]): string {
  return table(
    ["ID", "STATUS", "OWNER", "CREATED", "FROM", "TO", "PACKETS", "SIZE", "DESCRIPTION"],
    jobs.map((j) => [
      String(j["id"]),
      String(j["status"]),
      String(j["owner"]),
      shortTime(j["created_at"]),
      shortTime(j["start_time"]),
      shortTime(j["end_time"]),
      String(j["packets"]),
      formatBytes(Number(j["bytes"])),
      String(j["description"]),
    ]),
  );
}

/** One job in detail: its fields, then its tasks with status, error code and message. */
export function jobDetail(job: Record<string, unknown>): string {
  const fields: [string, unknown][] = [
    ["id", job["id"]],
    ["status", job["status"]],
    ["owner", job["owner"]],
    ["description", job["description"] || "-"],
    ["window", `${shortTime(job["start_time"])} to ${shortTime(job["end_time"])}`],
    ["filter", job["effective_filter"] || "(all packets)"],
    ["created", shortTime(job["created_at"])],
    ["finished", shortTime(job["finished_at"])],
    [
      "result",
      `${job["packets"]} packets, ${formatBytes(Number(job["bytes"]))}${job["truncated"] ? " (truncated)" : ""}`,
    ],
    ["sha256", job["sha256"] ?? "-"],
  ];
  if (job["error_message"] !== null) fields.push(["error", job["error_message"]]);
  const text = fields.map(([key, value]) => `${`${key}:`.padEnd(13)}${String(value)}`).join("\n");
  const tasks = (job["tasks"] as Record<string, unknown>[]).map((t) => [
    String(t["sensor"]),
    String(t["status"]),
    String(t["error_code"] ?? "-"),
    String(t["packets"]),
    formatBytes(Number(t["bytes"])),
    String(t["attempts"]),
    String(t["error_message"] ?? ""),
  ]);
  return `${text}\n\n${table(["SENSOR", "STATUS", "ERROR", "PACKETS", "SIZE", "ATTEMPTS", "MESSAGE"], tasks)}`;
}

/** Sensors as a table. */
export function sensorsTable(sensors: readonly Record<string, unknown>[]): string {
  return table(
    ["NAME", "LOCATION", "STATE", "LAST HEARTBEAT", "PCAP FROM", "PCAP TO", "PCAP SIZE", "VERSION"],
    sensors.map((s) => [
      String(s["name"]),
      String(s["location"]),
      String(s["state"]),
      shortTime(s["last_heartbeat_at"]),
      shortTime(s["pcap_oldest_at"]),
      shortTime(s["pcap_newest_at"]),
      formatBytes(Number(s["pcap_bytes"])),
      String(s["version"]),
    ]),
  );
}
