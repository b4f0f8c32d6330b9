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

/**
 * Samples host health. CPU use is measured between calls (systeminformation keeps the previous
 * tick counts), so the first sample after start covers the time since boot; heartbeats call this
 * on their own timer, which makes every later sample cover one interval.
 */
export async function sampleHostHealth(): Promise<HostHealth> {
  const [load, memory] = await Promise.all([si.currentLoad(), si.mem()]);
  const [load1m = 0, load5m = 0, load15m = 0] = loadavg();
  const total = memory.total || totalmem();
  return {
    cpuPercent: clampPercent(load.currentLoad),
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
