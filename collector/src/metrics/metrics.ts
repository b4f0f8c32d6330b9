/**
 * `GET /metrics` (Prometheus text format, prom-client): sensors by status, heartbeats received,
 * jobs by state, realtime clients, HTTP latency by route, and the process's own figures. Gauges
 * that live in the database are read at scrape time, so every collector behind a load balancer
 * reports the fleet's true counts, not what it happened to see.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Queryable } from "../db/index.js";

/** Counts read from the database at scrape time: label value → count. */
export type CountQuery = (db: Queryable) => Promise<ReadonlyArray<{ label: string; count: number }>>;

/** What {@link createMetrics} needs. */
export interface MetricsDeps {
  readonly db: Queryable;
  /** Sensors per computed status. */
  readonly sensorsByStatus: CountQuery;
  /** Jobs per state; absent until the job engine is wired. */
  readonly jobsByState?: CountQuery;
  /** Connected realtime clients. */
  readonly realtimeClients?: () => number;
  /** Heartbeats this collector has stored since it started (ingest's own count). */
  readonly heartbeatsStored?: () => number;
  /** Adds Node process metrics (CPU, memory, event-loop lag). Default true. */
  readonly processMetrics?: boolean;
}

/** The collector's metrics. */
export interface Metrics {
  readonly registry: Registry;
  /** Records one HTTP request; `route` is the route pattern, never the raw path (bounded labels). */
  observeHttp(method: string, route: string, status: number, seconds: number): void;
  /** The exposition: content type and body. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** HTTP latency buckets (seconds): the REST p99 target is 100 ms, so resolution sits there. */
export const HTTP_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Creates the registry and its metrics. */
export function createMetrics(deps: MetricsDeps): Metrics {
  const registry = new Registry();
  if (deps.processMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: "pcapfleet_collector_" });
  const countGauge = (name: string, help: string, label: string, query: CountQuery) =>
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of await query(deps.db)) this.set({ [label]: row.label }, row.count);
      },
    });
  countGauge("pcapfleet_sensors", "Sensors by computed status.", "status", deps.sensorsByStatus);
  if (deps.jobsByState !== undefined)
    countGauge("pcapfleet_jobs", "Jobs by state.", "state", deps.jobsByState);
  const realtimeClients = deps.realtimeClients;
  if (realtimeClients !== undefined) {
    new Gauge({
      name: "pcapfleet_realtime_clients",
      help: "WebSocket clients connected to this collector.",
      registers: [registry],
      collect() {
        this.set(realtimeClients());
      },
    });
  }
  const heartbeatsStored = deps.heartbeatsStored;
  if (heartbeatsStored !== undefined) {
    new Counter({
      name: "pcapfleet_heartbeats_total",
      help: "Sensor heartbeats stored by this collector (rate() gives heartbeats per second).",
      registers: [registry],
      collect() {
        // Ingest keeps the count; the counter mirrors it (it only ever grows).
        this.reset();
        this.inc(heartbeatsStored());
      },
    });
  }
  const http = new Histogram({
    name: "pcapfleet_http_request_duration_seconds",
    help: "HTTP request latency by method, route pattern and status.",
    labelNames: ["method", "route", "status"],
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  return {
    registry,
    observeHttp(method, route, status, seconds) {
      http.observe({ method, route, status: String(status) }, seconds);
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/** Sensors by status from the `sensors` table (sql/001_core.sql). */
export const sensorsByStatusQuery: CountQuery = async (db) => {
  const result = await db.query<{ status: string; n: number }>(
    "SELECT status, count(*)::int AS n FROM sensors GROUP BY status",
  );
  return result.rows.map((row) => ({ label: row.status, count: row.n }));
};

/** Jobs per state, every state present (zero included) so alerts can watch e.g. `failed`. */
export const jobsByStateQuery: CountQuery = async (db) => {
  const result = await db.query<{ status: string; n: number }>(
    `SELECT s.status, count(j.id)::int AS n
     FROM unnest(ARRAY['queued', 'running', 'complete', 'partial', 'failed', 'cancelled']) AS s (status)
     LEFT JOIN jobs j ON j.status = s.status GROUP BY s.status`,
  );
  return result.rows.map((row) => ({ label: row.status, count: row.n }));
};
