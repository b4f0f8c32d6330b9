/**
 * The real `pcapfleet-collector run` as a child process for end-to-end tests: its HTTP and gRPC
 * addresses read from its banner, stopped with SIGTERM. Without `databaseUrl` it runs on embedded
 * PGlite in its data dir, with the in-process Kv unless `redisUrl` is given.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../slice/agent-bin.js";

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
  const child = spawn(process.execPath, [BIN, "run"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  const append = (chunk: Buffer) => {
    text += chunk.toString();
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const { httpUrl, grpcAddress } = await new Promise<{ httpUrl: string; grpcAddress: string }>(
    (resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`collector did not start:\n${text}`)), 60_000);
      const check = () => {
        const http = /Dashboard: (http:\/\/\S+?)\/?\n/.exec(text)?.[1];
        const grpc = /gRPC: (\S+)\n/.exec(text)?.[1];
        if (http !== undefined && grpc !== undefined) {
          clearTimeout(timer);
          resolve({ httpUrl: http, grpcAddress: grpc });
        }
      };
      child.stdout?.on("data", check);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`collector exited with ${code} before serving:\n${text}`));
      });
    },
  );
  return {
    child,
    httpUrl,
    grpcAddress,
    output: () => text,
    async stop(ms = 20_000) {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), ms);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
