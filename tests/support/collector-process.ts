/**
 * The real `pcapfleet-collector run` as a child process for end-to-end tests: its HTTP and gRPC
 * addresses read from its banner, stopped with SIGTERM. Without `databaseUrl` it runs on embedded
 * PGlite in its data dir, with the in-process Kv unless `redisUrl` is given.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { ROOT } from "../slice/agent-bin.js";
import { awaitBanner } from "./banner-child.js";

const BIN = join(ROOT, "collector", "bin", "pcapfleet-collector.js");

/** A running collector process. */
export interface CollectorProcess {
  readonly child: ChildProcess;
  /** http://127.0.0.1:PORT */
  readonly httpUrl: string;
  /** 127.0.0.1:PORT of SensorIngest. */
  readonly grpcAddress: string;
  output(): string;
  /** SIGTERM, then the exit code (SIGKILL after `ms`). */
  stop(ms?: number): Promise<number | null>;
}

/** Starts a collector on free ports with `dataDir` and admin password `adminPassword`. */
export async function startCollectorProcess(options: {
  dataDir: string;
  adminPassword: string;
  databaseUrl?: string | undefined;
  redisUrl?: string | undefined;
  env?: Record<string, string>;
  /** Written as the YAML config file (`run --config`), e.g. `{ jobs: { retryBaseS: 0.05 } }`. */
  config?: Record<string, unknown>;
}): Promise<CollectorProcess> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PCAPFLEET_HTTP_LISTEN: "127.0.0.1:0",
    PCAPFLEET_GRPC_LISTEN: "127.0.0.1:0",
    PCAPFLEET_DATA_DIR: options.dataDir,
    PCAPFLEET_ADMIN_PASSWORD: options.adminPassword,
    PCAPFLEET_LOG_LEVEL: "info",
    ...options.env,
  };
  delete env["DATABASE_URL"];
  delete env["REDIS_URL"];
  if (options.databaseUrl !== undefined) env["DATABASE_URL"] = options.databaseUrl;
  if (options.redisUrl !== undefined) env["REDIS_URL"] = options.redisUrl;
  const args = [BIN, "run"];
  if (options.config !== undefined) {
    await mkdir(options.dataDir, { recursive: true });
    const file = join(options.dataDir, "..", `collector-${Date.now()}.yaml`);
    await writeFile(file, stringify(options.config));
    args.push("--config", file);
  }
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  const started = await awaitBanner(child, {
    what: "collector",
    timeoutMs: 60_000,
    parse: (text) => {
      const httpUrl = /Dashboard: (http:\/\/\S+?)\/?\n/.exec(text)?.[1];
      const grpcAddress = /gRPC: (\S+)\n/.exec(text)?.[1];
      return httpUrl === undefined || grpcAddress === undefined ? undefined : { httpUrl, grpcAddress };
    },
  });
  return {
    child,
    ...started.banner,
    output: started.output,
    stop: (ms = 20_000) => started.stop(ms),
  };
}
