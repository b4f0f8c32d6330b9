import { readFile } from "node:fs/promises";
import { loadavg, totalmem, uptime } from "node:os";
import si from "systeminformation";

/** Health of the sensor host and of the agent process (proto `HostHealth`). */
export interface HostHealth {
  /** Host CPU use since the previous sample, 0 to 100. */
  readonly cpuPercent: number;
  readonly memoryTotalBytes: number;
  /** Total minus available (what the kernel could not hand out without swapping or reclaim). */
  readonly memoryUsedBytes: number;
  readonly load1m: number;
  readonly load5m: number;
  readonly load15m: number;
  readonly hostUptimeSeconds: number;
  readonly agentUptimeSeconds: number;
  readonly agentRssBytes: number;
}

/** CPU tick counters of the host (the `cpu` line of /proc/stat). */
export interface CpuTicks {
  /** Idle and I/O wait. */
  readonly idle: number;
  /** Every state (guest time is already in user and nice). */
  readonly total: number;
}

/** The `cpu` line of /proc/stat as {@link CpuTicks}; undefined when it is not there. */
export function parseCpuTicks(procStat: string): CpuTicks | undefined {
  const line = /^cpu\s+([\d\s]+)$/m.exec(procStat)?.[1];
  if (line === undefined) return undefined;
  // user nice system idle iowait irq softirq steal [guest guest_nice]
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .map(Number);
  return { idle: idle + iowait, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** Busy share of the ticks between two readings, 0 to 100 (0 when no tick passed). */
export function cpuPercentBetween(before: CpuTicks | undefined, after: CpuTicks): number {
  const total = after.total - (before?.total ?? 0);
  const idle = after.idle - (before?.idle ?? 0);
  return total > 0 ? clampPercent(100 * (1 - idle / total)) : 0;
}

let lastTicks: CpuTicks | undefined;

/**
 * Samples host health. CPU use is measured between calls from /proc/stat's tick counters, so
 * the first sample after start covers the time since boot; heartbeats call this on their own
 * timer, which makes every later sample cover one interval. Memory comes from
 * systeminformation; its `currentLoad()` is not used: on Linux it runs a shell pipeline through
 * `execSync` on every call, which stopped the agent's event loop for 15–70 ms per heartbeat
 * (and forked the whole agent) while slices streamed.
 */
export async function sampleHostHealth(): Promise<HostHealth> {
  const [procStat, memory] = await Promise.all([readFile("/proc/stat", "utf8").catch(() => ""), si.mem()]);
  const ticks = parseCpuTicks(procStat);
  const cpuPercent = ticks === undefined ? 0 : cpuPercentBetween(lastTicks, ticks);
  if (ticks !== undefined) lastTicks = ticks;
  const [load1m = 0, load5m = 0, load15m = 0] = loadavg();
  const total = memory.total || totalmem();
  return {
    cpuPercent,
    memoryTotalBytes: total,
    memoryUsedBytes: Math.max(0, total - memory.available),
    load1m,
    load5m,
    load15m,
    hostUptimeSeconds: Math.floor(uptime()),
    agentUptimeSeconds: Math.floor(process.uptime()),
    agentRssBytes: process.memoryUsage.rss(),
  };
}

function clampPercent(value: number): number {
  return Number.isFinite(value) ? Math.min(100, Math.max(0, value)) : 0;
}
