/**
 * The running collector: database (Postgres or PGlite) migrated, Kv (Redis or in-process),
 * first-start admin, partition manager, SensorIngest with the offline sweeper on gRPC, and the
 * HTTP app (REST API, realtime socket, metrics, dashboard files). `pcapfleet-collector run` and
 * the demo call {@link startCollector}; end-to-end tests start it in-process or as the real bin.
 */
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { serveStatic } from "@hono/node-server/serve-static";
import { pcapfleetVersion } from "@pcapfleet/core";
import { clientTls, createGrpcServer, listen, serverCredentials } from "@pcapfleet/proto";
import type { Logger } from "pino";
import { createAuditLog } from "../audit/audit-log.js";
import { createAuthService, ensureAdmin } from "../auth/index.js";
import type { CollectorConfig } from "../config.js";
import { migrate, openDb } from "../db/index.js";
import { createApp } from "../http/index.js";
import { createIngestService } from "../ingest/index.js";
import { createJobGrpcServices } from "../jobs/grpc/index.js";
import {
  createAgentClients,
  createJobEngine,
  createJobRoutes,
  createResultRetention,
  ownJobRule,
} from "../jobs/index.js";
import { openKv } from "../kv/index.js";
import type { LogRing } from "../logs/log-ring.js";
import { createMetrics, jobsByStateQuery, sensorsByStatusQuery } from "../metrics/metrics.js";
import { startNetwork } from "../network/index.js";
import { createPartitionManager, partitionedTablesFrom } from "../partitions/index.js";
import { createRealtimeHub } from "../realtime/hub.js";
import { createRealtimeRoute, createWebSocketServer } from "../realtime/ws-route.js";
import { createCollectorRoutes } from "../routes/index.js";
import { createOfflineSweeper } from "../sensors/index.js";

/** The repository's `sql/` folder, from `collector/src/main` or `collector/dist/main`. */
export const SQL_DIR = fileURLToPath(new URL("../../../sql/", import.meta.url));
/** The built dashboard, served at `/`. */
export const DASHBOARD_DIR = fileURLToPath(new URL("../../../dashboard/dist/", import.meta.url));

/** A started collector. */
export interface RunningCollector {
  /** http://host:port of the API and dashboard. */
  readonly httpUrl: string;
  /** host:port of the gRPC server (SensorIngest). */
  readonly grpcAddress: string;
  /** The admin password generated at first start (logged once); undefined otherwise. */
  readonly generatedAdminPassword: string | undefined;
  /** Stops HTTP, gRPC (open heartbeat streams end), background work, then Kv and the database. */
  stop(): Promise<void>;
}

/**
 * This collector's name in job leases: the host and its data directory, so a restarted
 * collector recognises (and resumes at once) the tasks it held when it went down.
 */
function collectorIdentity(dataDir: string): string {
  const dir = createHash("sha256").update(resolve(dataDir)).digest("hex").slice(0, 12);
  return `${hostname()}:${dir}`;
}

/** Starts the collector; undoes what started when a part fails. */
export async function startCollector(
  config: CollectorConfig,
  log: Logger,
  logs: LogRing | undefined,
): Promise<RunningCollector> {
  const stops: Array<() => Promise<void>> = [];
  const undo = async (): Promise<void> => {
    for (const stop of stops.reverse()) {
      await stop().catch((error: unknown) => log.warn({ err: error }, "stop step failed"));
    }
  };
  const startedAt = new Date();
  // The PEM files are read before anything starts: a bad one stops the collector at once.
  const tls =
    config.tls === undefined
      ? undefined
      : {
          // Agents present their certificates; CLI users need not (they have tokens): ADR 0018.
          server: serverCredentials(config.tls, { requireClientCert: config.tls.requireClientCert }),
          // Agents' CaptureService requires the collector's certificate, and is verified by the CA.
          channel: clientTls(config.tls),
        };
  try {
    await mkdir(config.dataDir, { recursive: true });
    const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, log });
    stops.push(() => db.close());
    await migrate(db, SQL_DIR, { log });
    const kv = await openKv({ redisUrl: config.redisUrl, log });
    stops.push(() => kv.close());
    const admin = await ensureAdmin({
      db,
      log,
      ...(config.adminPassword === undefined ? {} : { password: config.adminPassword }),
    });
    const partitions = createPartitionManager({
      db,
      log: log.child({ part: "partitions" }),
      tables: partitionedTablesFrom(config.partitions),
      aheadDays: config.partitions.aheadDays,
    });
    await partitions.runOnce();
    partitions.start();
    stops.push(() => partitions.stop());
    const auth = await createAuthService({ db, kv, log: log.child({ part: "auth" }), config: config.auth });

    const ingest = createIngestService({
      db,
      kv,
      log: log.child({ part: "ingest" }),
      thresholds: config.sensorStatus,
    });
    const sweeper = createOfflineSweeper({
      db,
      kv,
      log: log.child({ part: "sweeper" }),
      thresholds: config.sensorStatus,
    });
    sweeper.start();
    stops.push(() => sweeper.stop());
    const audit = createAuditLog(db);
    const clients = createAgentClients(tls?.channel);
    stops.push(async () => clients.close());
    const engine = createJobEngine({
      db,
      kv,
      log: log.child({ part: "jobs" }),
      audit,
      clients,
      dataDir: config.dataDir,
      config: config.jobs,
      owner: collectorIdentity(config.dataDir),
    });
    await engine.start();
    stops.push(() => engine.stop());
    // JobService and AuthService for automation (the pcapfleet CLI).
    const automation = createJobGrpcServices({
      db,
      kv,
      auth,
      audit,
      config: config.jobs,
      log: log.child({ part: "jobs" }),
      wake: () => engine.wake(),
    });
    const grpc = createGrpcServer({
      log: log.child({ part: "grpc" }),
      services: [ingest.binding, ...automation],
    });
    const grpcPort = await listen(grpc.server, config.grpcListen.text, tls?.server);
    stops.push(async () => {
      await grpc.shutdown(3_000);
      await ingest.drain();
    });

    const retention = createResultRetention(
      db,
      config.dataDir,
      config.jobs,
      log.child({ part: "retention" }),
    );
    retention.start();
    stops.push(() => retention.stop());

    // The network map: lookup cache, rollups of subnet traffic and the learner.
    const network = await startNetwork({
      db,
      kv,
      log: log.child({ part: "network" }),
      audit,
      config: config.network,
      retentionDays: config.partitions.retentionDays.subnetTraffic,
    });
    stops.push(() => network.stop());

    const hub = await createRealtimeHub({ kv, log: log.child({ part: "realtime" }) });
    stops.push(() => hub.close());
    const metrics = createMetrics({
      db,
      sensorsByStatus: sensorsByStatusQuery,
      jobsByState: jobsByStateQuery,
      realtimeClients: () => hub.size(),
      heartbeatsStored: () => ingest.stats().heartbeats,
    });
    const version = pcapfleetVersion();
    const realtime = createRealtimeRoute({
      hub,
      log: log.child({ part: "realtime" }),
      authenticate: async (token) => {
        const user = await auth.authenticate(token);
        return { username: user.username, role: user.role, expiresAt: new Date(user.expiresAt * 1000) };
      },
    });
    const app = createApp({
      log,
      db,
      auth,
      version,
      modules: [
        ...createCollectorRoutes({ db, kv, logs, dataDir: config.dataDir, version, startedAt }),
        createJobRoutes({
          db,
          kv,
          audit,
          clients,
          config: config.jobs,
          dataDir: config.dataDir,
          log: log.child({ part: "jobs" }),
          wake: () => engine.wake(),
        }),
        network.module,
      ],
      rules: { "own-job": ownJobRule(db) },
      onRequestTimed: (timing) =>
        metrics.observeHttp(timing.method, timing.route, timing.status, timing.durationMs / 1000),
      mount(root) {
        root.get("/api/v1/ws", ...realtime);
        root.get("/metrics", async (c) => {
          const { contentType, body } = await metrics.render();
          return c.body(body, 200, { "content-type": contentType });
        });
        root.get("/assets/:file", serveStatic({ root: DASHBOARD_DIR }));
        root.get("/", serveStatic({ root: DASHBOARD_DIR, path: "index.html" }));
      },
    });
    const wss = createWebSocketServer();
    const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve(
        {
          fetch: app.fetch,
          hostname: config.httpListen.host,
          port: config.httpListen.port,
          websocket: { server: wss },
        },
        () => resolve(s),
      );
      s.once("error", reject);
    });
    stops.push(
      () =>
        new Promise<void>((resolve) => {
          for (const client of wss.clients) client.close(1001, "collector stopping");
          server.close(() => resolve());
          // Keep-alive connections would hold close() open; end them.
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
    );
    // Idle keep-alive connections stay open longer than a client's or proxy's own idle timeout
    // (60 s is common), so the client, not the server, closes them: a server closing an idle
    // connection just as a request arrives makes that request fail with "socket hang up".
    (server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = 65_000;
    const { port } = server.address() as AddressInfo;
    const host = config.httpListen.host.includes(":")
      ? `[${config.httpListen.host}]`
      : config.httpListen.host;
    const httpUrl = `http://${host}:${port}`;
    const grpcAddress = `${host}:${grpcPort}`;
    log.info(
      { http: httpUrl, grpc: grpcAddress, grpcTls: tls !== undefined, db: db.kind, kv: kv.kind },
      "collector running",
    );
    return {
      httpUrl,
      grpcAddress,
      generatedAdminPassword: admin.generatedPassword,
      stop: undo,
    };
  } catch (error) {
    await undo();
    throw error;
  }
}
