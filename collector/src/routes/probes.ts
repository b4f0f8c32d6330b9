import { availableParallelism, freemem, hostname, loadavg, totalmem, uptime } from "node:os";
import { z } from "@hono/zod-openapi";
import { AppError, ErrorCode } from "@pcapfleet/core";
import type { Db, DbKind } from "../db/index.js";
import type { Kv, KvKind } from "../kv/index.js";

/**
 * Reachability probes of the collector's own dependencies (database, key-value store) and the
 * facts about its process, shared by `/health`, `/health/summary` and `/admin/system/status`.
 * A probe never throws: a dependency that fails or hangs is reported, so a health route can
 * still answer while the thing it reports on is down.
 */

/** How long a probe waits before calling its dependency unreachable. */
export const defaultProbeTimeoutMs = 2_000;

/** The outcome of one probe. */
export interface ProbeResult<K extends string> {
  readonly kind: K;
  readonly ok: boolean;
  /** Round-trip time in milliseconds (until the failure, when it failed). */
  readonly latency_ms: number;
  /** The error code when not ok (a code, never the message: `/health` is public). */
  readonly error: string | null;
}

/** Schema of a database or kv probe in responses. */
export function probeSchema<K extends string>(kinds: readonly [K, ...K[]]) {
  return z.object({
    kind: z.enum(kinds),
    ok: z.boolean(),
    latency_ms: z.number(),
    error: z.string().nullable(),
  });
}

/** `probeSchema` of the database. */
export const dbProbeSchema = probeSchema<DbKind>(["postgres", "pglite"]).openapi("DatabaseProbe");
/** `probeSchema` of the key-value store. */
export const kvProbeSchema = probeSchema<KvKind>(["redis", "memory"]).openapi("KvProbe");

/** Resolves like `work`, or rejects with `timeout` after `ms`. */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AppError(ErrorCode.Timeout, `${what} did not answer in ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

async function probe<K extends string>(
  kind: K,
  work: () => Promise<unknown>,
  timeoutMs: number,
): Promise<ProbeResult<K>> {
  const started = performance.now();
  const latency = () => Math.round((performance.now() - started) * 1000) / 1000;
  try {
    await within(work(), timeoutMs, kind);
    return { kind, ok: true, latency_ms: latency(), error: null };
  } catch (error) {
    return { kind, ok: false, latency_ms: latency(), error: AppError.from(error).code };
  }
}

/** Runs `SELECT 1` on `db`. */
export function probeDb(db: Db, timeoutMs = defaultProbeTimeoutMs): Promise<ProbeResult<DbKind>> {
  return probe(db.kind, () => db.query("SELECT 1"), timeoutMs);
}

/** Reads one key of `kv` (a full round trip to Redis; the in-process store answers at once). */
export function probeKv(kv: Kv, timeoutMs = defaultProbeTimeoutMs): Promise<ProbeResult<KvKind>> {
  return probe(kv.kind, () => kv.get("health:probe"), timeoutMs);
}

/** What the health and status routes probe and show: this collector's dependencies and identity. */
export interface CollectorProbeDeps {
  readonly db: Db;
  readonly kv: Kv;
  /** The collector's version, shown to callers. */
  readonly version: string;
  /** When the collector started, for the uptime. */
  readonly startedAt: Date;
  /** How long each dependency probe may take; 2 s when absent. */
  readonly probeTimeoutMs?: number;
}

/** This collector's identity and the outcome of both dependency probes. */
export interface CollectorCheck extends CollectorInfo {
  database: ProbeResult<DbKind>;
  kv: ProbeResult<KvKind>;
}

/** Probes the database and the kv store at once; never rejects (see {@link probeDb}). */
export async function checkCollector(deps: CollectorProbeDeps): Promise<CollectorCheck> {
  const timeoutMs = deps.probeTimeoutMs ?? defaultProbeTimeoutMs;
  const [database, kv] = await Promise.all([probeDb(deps.db, timeoutMs), probeKv(deps.kv, timeoutMs)]);
  return { ...collectorInfo(deps.version, deps.startedAt), database, kv };
}

/** The collector's identity and age, as every health and status route shows it. */
export interface CollectorInfo {
  version: string;
  started_at: string;
  uptime_s: number;
}

/** Schema of {@link CollectorInfo}. */
export const collectorInfoSchema = z.object({
  version: z.string(),
  started_at: z.string().openapi({ description: "RFC 3339" }),
  uptime_s: z.number(),
});

/** Version, start time and uptime (whole milliseconds, in seconds). */
export function collectorInfo(version: string, startedAt: Date, now = new Date()): CollectorInfo {
  return {
    version,
    started_at: startedAt.toISOString(),
    uptime_s: Math.max(0, Math.round(now.getTime() - startedAt.getTime()) / 1000),
  };
}

/** The collector process and its host, for `/admin/system/status`. */
export interface ProcessFacts {
  node_version: string;
  pid: number;
  hostname: string;
  platform: string;
  arch: string;
  memory: {
    rss_bytes: number;
    heap_total_bytes: number;
    heap_used_bytes: number;
    external_bytes: number;
    array_buffers_bytes: number;
  };
  cpu: { user_s: number; system_s: number; percent_since_start: number; cores: number };
  host: { load_average: number[]; total_memory_bytes: number; free_memory_bytes: number; uptime_s: number };
}

/** Schema of {@link ProcessFacts}. */
export const processFactsSchema = z.object({
  node_version: z.string(),
  pid: z.number().int(),
  hostname: z.string(),
  platform: z.string(),
  arch: z.string(),
  memory: z.object({
    rss_bytes: z.number().int(),
    heap_total_bytes: z.number().int(),
    heap_used_bytes: z.number().int(),
    external_bytes: z.number().int(),
    array_buffers_bytes: z.number().int(),
  }),
  cpu: z.object({
    user_s: z.number(),
    system_s: z.number(),
    percent_since_start: z
      .number()
      .openapi({ description: "CPU time over wall time since start; 100 = one core" }),
    cores: z.number().int(),
  }),
  host: z.object({
    load_average: z.array(z.number()),
    total_memory_bytes: z.number().int(),
    free_memory_bytes: z.number().int(),
    uptime_s: z.number(),
  }),
});

/**
 * Reads the process's memory and CPU. The CPU share is averaged over the process's life (the
 * span `process.cpuUsage()` counts): one sample needs no state kept between requests.
 */
export function processFacts(): ProcessFacts {
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  const wallUs = Math.max(1, process.uptime() * 1e6);
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    node_version: process.version,
    pid: process.pid,
    hostname: hostname(),
    platform: process.platform,
    arch: process.arch,
    memory: {
      rss_bytes: memory.rss,
      heap_total_bytes: memory.heapTotal,
      heap_used_bytes: memory.heapUsed,
      external_bytes: memory.external,
      array_buffers_bytes: memory.arrayBuffers,
    },
    cpu: {
      user_s: round(cpu.user / 1e6),
      system_s: round(cpu.system / 1e6),
      percent_since_start: round(((cpu.user + cpu.system) / wallUs) * 100),
      cores: availableParallelism(),
    },
    host: {
      load_average: loadavg(),
      total_memory_bytes: totalmem(),
      free_memory_bytes: freemem(),
      uptime_s: uptime(),
    },
  };
}
