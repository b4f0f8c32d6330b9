/**
 * The running agent: the store catalogue (watching and indexing the rings), optional own
 * capture, the CaptureService gRPC server, and the heartbeat stream to the collector, wired
 * together from the configuration. `pcapfleet-agent run` calls {@link startAgent} and stops it
 * on SIGTERM; tests start it in-process or as the real bin.
 */
import { mkdir } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { pcapfleetVersion } from "@pcapfleet/core";
import {
  type BusyTask,
  BusyTaskSchema,
  bindService,
  CaptureService,
  type ChannelCredentials,
  channelCredentials,
  createGrpcServer,
  listen,
  type ServerCredentials,
  serverCredentials,
  TaskKind,
} from "@pcapfleet/proto";
import type { Logger } from "pino";
import { createCaptureManager } from "../capture/capture-manager.js";
import type { AgentConfig } from "../config.js";
import { listDevices } from "../health/devices.js";
import { sampleHostHealth } from "../health/host-health.js";
import { createHeartbeatSender } from "../ingest/heartbeat-sender.js";
import { createCaptureService } from "../service/capture-service.js";
import { createStatusReporter, type StatusReporter } from "../status/sensor-status.js";
import { createStoreCatalogue } from "../store/store-catalogue.js";
import { createBusyTasks } from "../tasks/busy-tasks.js";

/** A started agent. */
export interface RunningAgent {
  /** host:port the CaptureService is bound to (the real port when the config asked for 0). */
  readonly address: string;
  /** The status snapshot heartbeats carry. */
  readonly reporter: StatusReporter;
  /**
   * Stops in order: heartbeats (a last one sent, the queue flushed to disk), the gRPC server
   * (running slices get `graceMs` to finish, then are cancelled), capture writers (their files
   * closed properly), the catalogue (indexing aborted between files).
   */
  stop(graceMs?: number): Promise<void>;
}

/** Starts every part of the agent; rejects (after undoing what started) if one cannot start. */
export async function startAgent(config: AgentConfig, log: Logger): Promise<RunningAgent> {
  // Read the PEM files first: a bad one stops the agent before anything else starts.
  const tls = tlsCredentials(config);
  const stateDir = resolve(config.stateDir);
  await mkdir(stateDir, { recursive: true });
  // Rings the agent writes itself are stores too: they are served like any other.
  const dirs = [
    ...new Set([...config.stores, ...config.capture.map((entry) => entry.dir)].map((d) => resolve(d))),
  ];
  // A ring the agent captures into may use only part of its filesystem: the retention
  // forecast counts that part (the smallest limit when two captures share a directory).
  const diskLimits = new Map<string, number>();
  for (const entry of config.capture) {
    const dir = resolve(entry.dir);
    diskLimits.set(dir, Math.min(diskLimits.get(dir) ?? 100, entry.maxDiskPercent));
  }
  const catalogue = createStoreCatalogue({
    dirs,
    diskLimits,
    stateDir,
    log: log.child({ part: "store" }),
    prefixV4: config.summaryPrefixV4,
    prefixV6: config.summaryPrefixV6,
    quietMs: config.quietMs,
  });
  const stops: Array<() => Promise<void>> = [];
  const undo = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    await catalogue.start();
    stops.push(() => catalogue.close());
    const capture =
      config.capture.length === 0
        ? undefined
        : createCaptureManager({
            captures: config.capture,
            isPinned: (path) => catalogue.isPinned(path),
            log: log.child({ part: "capture" }),
          });
    if (capture !== undefined) {
      await capture.start();
      stops.push(() => capture.stop());
    }
    const tasks = createBusyTasks();
    let agentAddress = config.advertiseAddress?.text ?? "";
    const reporter = createStatusReporter({
      identity: () => ({
        name: config.sensor,
        location: config.location,
        version: pcapfleetVersion(),
        agentAddress,
        hostname: hostname(),
      }),
      stores: () => catalogue.stores(),
      health: sampleHostHealth,
      devices: listDevices,
      capture: () => capture?.stats() ?? [],
      capturingInterfaces: () => capture?.capturingInterfaces() ?? [],
      busyTasks: () => withIndexing(tasks.list(), catalogue.indexing()),
      log,
    });
    const service = createCaptureService({
      catalogue,
      stateDir,
      status: () => reporter.status(),
      tasks,
      log: log.child({ part: "capture-service" }),
    });
    const server = createGrpcServer({
      log: log.child({ part: "grpc" }),
      services: [bindService(CaptureService, service)],
    });
    const port = await listen(server.server, config.listen.text, tls?.server);
    const address = bracketed(config.listen.host, port);
    if (agentAddress === "") agentAddress = advertised(config.listen.host, port);
    stops.push(() => server.shutdown(5_000));
    const heartbeats = createHeartbeatSender({
      target: config.collector.text,
      ...(tls === undefined ? {} : { credentials: tls.channel }),
      intervalS: config.heartbeatS,
      backoff: {
        initialMs: Math.min(1_000, config.reconnectMaxS * 1000),
        maxMs: config.reconnectMaxS * 1000,
      },
      status: () => reporter.status(),
      takeTraffic: () => catalogue.takeTraffic(),
      queueDir: join(stateDir, "heartbeat-queue"),
      queueMaxBytes: config.queueMaxBytes,
      log: log.child({ part: "heartbeats" }),
    });
    heartbeats.start();
    stops.push(() => heartbeats.stop());
    log.info(
      { address, stores: dirs, collector: config.collector.text, tls: tls !== undefined },
      "agent running",
    );
    return {
      address,
      reporter,
      async stop(): Promise<void> {
        await undo();
      },
    };
  } catch (error) {
    await undo();
    throw error;
  }
}

/**
 * With a `tls` block: CaptureService requires a client certificate signed by the fleet CA (only
 * the collector, or an operator holding a fleet certificate, may slice), and the collector is
 * dialled over TLS presenting the agent's certificate.
 */
function tlsCredentials(
  config: AgentConfig,
): { readonly server: ServerCredentials; readonly channel: ChannelCredentials } | undefined {
  if (config.tls === undefined) return undefined;
  return {
    server: serverCredentials(config.tls, { requireClientCert: true }),
    channel: channelCredentials(config.tls),
  };
}

function advertised(host: string, port: number): string {
  const wildcard = host === "" || host === "0.0.0.0" || host === "::";
  return bracketed(wildcard ? hostname() : host, port);
}

function bracketed(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** Shows an indexing run of the catalogue as a busy task beside the collector's tasks. */
function withIndexing(
  tasks: readonly BusyTask[],
  indexing: ReturnType<ReturnType<typeof createStoreCatalogue>["indexing"]>,
): BusyTask[] {
  if (indexing === undefined) return [...tasks];
  const progress = indexing.bytesTotal > 0 ? indexing.bytesDone / indexing.bytesTotal : 0;
  return [
    ...tasks,
    create(BusyTaskSchema, {
      taskId: `index-${indexing.startedAt.getTime()}`,
      kind: TaskKind.INDEX,
      startedAt: timestampFromDate(indexing.startedAt),
      progress,
      bytesDone: BigInt(Math.round(indexing.bytesDone)),
    }),
  ];
}
