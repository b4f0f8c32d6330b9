/**
 * Test support for the dashboard's page tests: the built dashboard (rebuilt when a source file is
 * newer than it), a real collector started in-process on embedded PGlite in a temp dir, and
 * sensors put in through the collector's real SensorIngest gRPC stream.
 */
import { mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createLogger } from "@pcapfleet/core";
import { createChannel, createClient, SensorIngest } from "@pcapfleet/proto";
import { build } from "vite";
import { loadCollectorConfig } from "../../collector/src/config.js";
import { beat, type HeartbeatRequest, testClock } from "../../collector/src/ingest/testing.js";
import { createLogRing } from "../../collector/src/logs/log-ring.js";
import { type RunningCollector, startCollector } from "../../collector/src/main/start-collector.js";

const DASHBOARD = resolve(import.meta.dirname, "../../dashboard");
const DIST_INDEX = join(DASHBOARD, "dist", "index.html");
// In the temp dir, not the repository: a crashed run must not leave a stray folder in a workspace.
const LOCK = join(tmpdir(), "pcapfleet-dashboard-build.lock");

async function mtime(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.mtimeMs ?? 0;
}

/** The newest modification time of the dashboard's inputs (sources, index.html, config, public files). */
async function newestSource(): Promise<number> {
  const files = [join(DASHBOARD, "index.html"), join(DASHBOARD, "vite.config.ts")];
  for (const dir of ["src", "public"]) {
    for (const name of await readdir(join(DASHBOARD, dir)).catch(() => [] as string[])) {
      if (!name.endsWith(".test.ts")) files.push(join(DASHBOARD, dir, name));
    }
  }
  return Math.max(...(await Promise.all(files.map(mtime))));
}

/**
 * Makes sure `dashboard/dist` (what the collector serves) is built from the current sources:
 * `npm test` builds it first; run alone, a test file rebuilds it when a source is newer. A lock
 * directory keeps two test files from building into the same folder at once.
 */
export async function ensureDashboardBuilt(): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if ((await mtime(DIST_INDEX)) >= (await newestSource())) return;
    const locked = await mkdir(LOCK).then(
      () => true,
      () => false,
    );
    if (locked) break;
    if (Date.now() > deadline) throw new Error(`dashboard build lock ${LOCK} held for 2 minutes`);
    await new Promise((done) => setTimeout(done, 200));
  }
  // Vite picks Lit's development build when NODE_ENV is anything but "production", and vitest
  // sets it to "test"; the pages under test must be the bundle the collector will serve.
  const nodeEnv = process.env["NODE_ENV"];
  process.env["NODE_ENV"] = "production";
  try {
    await build({ root: DASHBOARD, logLevel: "warn" });
  } finally {
    if (nodeEnv === undefined) delete process.env["NODE_ENV"];
    else process.env["NODE_ENV"] = nodeEnv;
    await rm(LOCK, { recursive: true, force: true });
  }
}

/** A collector for page tests, with helpers to feed it heartbeats. */
export interface DashboardCollector {
  readonly collector: RunningCollector;
  readonly httpUrl: string;
  /** Sends a heartbeat of sensor `name` now and waits for the collector's ack. */
  heartbeat(
    name: string,
    spec: { location: string; diskUsedPercent?: number; devices?: readonly string[] },
  ): Promise<void>;
  /** A JSON API call as `token` (or without one). */
  api(method: string, path: string, options?: { token?: string; body?: unknown }): Promise<Response>;
  /** Logs in through the API and returns the access token. */
  login(username: string, password: string): Promise<string>;
  stop(): Promise<void>;
}

interface Stream {
  readonly sequence: { n: number };
  write(request: HeartbeatRequest): void;
  next(): Promise<unknown>;
  end(): void;
}

/** Starts a collector on PGlite in a temp dir on free ports, with `admin` / `adminPassword`. */
export async function startDashboardCollector(adminPassword: string): Promise<DashboardCollector> {
  const dataDir = await mkdtemp(join(tmpdir(), "pcapfleet-dashboard-"));
  const config = loadCollectorConfig({
    env: {
      PCAPFLEET_HTTP_LISTEN: "127.0.0.1:0",
      PCAPFLEET_GRPC_LISTEN: "127.0.0.1:0",
      PCAPFLEET_DATA_DIR: dataDir,
      PCAPFLEET_ADMIN_PASSWORD: adminPassword,
      PCAPFLEET_LOG_LEVEL: "info",
    },
  });
  const logs = createLogRing(500);
  const log = createLogger({ name: "collector", level: "info", destination: logs });
  let collector: RunningCollector;
  try {
    collector = await startCollector(config, log, logs);
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const channel = createChannel(collector.grpcAddress);
  const client = createClient(SensorIngest, channel);
  const streams = new Map<string, Stream>();
  const streamOf = (name: string): Stream => {
    let stream = streams.get(name);
    if (stream === undefined) {
      const call = client.heartbeats();
      const responses = call.responses[Symbol.asyncIterator]();
      stream = {
        sequence: { n: 0 },
        write: (request) => call.requests.write(request),
        next: () => responses.next(),
        end: () => call.requests.end(),
      };
      streams.set(name, stream);
    }
    return stream;
  };
  const api: DashboardCollector["api"] = (method, path, options = {}) =>
    fetch(`${collector.httpUrl}${path}`, {
      method,
      headers: {
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
  return {
    collector,
    httpUrl: collector.httpUrl,
    async heartbeat(name, spec) {
      const stream = streamOf(name);
      stream.sequence.n += 1;
      stream.write(beat(name, testClock(Date.now()), { sequence: stream.sequence.n, ...spec }));
      await stream.next();
    },
    api,
    async login(username, password) {
      const response = await api("POST", "/api/v1/login", { body: { username, password } });
      if (!response.ok) throw new Error(`login ${username}: ${response.status}`);
      return ((await response.json()) as { access_token: string }).access_token;
    },
    async stop() {
      for (const stream of streams.values()) stream.end();
      channel.close();
      await collector.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
