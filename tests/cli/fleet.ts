/**
 * A small fleet for the automation tests, all real processes: `pcapfleet-collector run` and
 * `pcapfleet-agent run` on a generated ring (sensor-a, site-a), plus a sensor that registered and
 * then went offline (sensor-gone), users of each role, and the built `pcapfleet` bin run as a
 * child process with its own token directory.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AgentProcess, startAgentProcess } from "../agent/agent-process.js";
import { type RingFile, writeRing } from "../agent/ring.js";
import { ensureBuilt, ROOT } from "../slice/agent-bin.js";
import { type CollectorProcess, startCollectorProcess } from "../support/collector-process.js";
import { freePort, until } from "../support/wait.js";

export { until };

const CLI = join(ROOT, "collector", "bin", "pcapfleet.js");

/** Password of every user the fleet creates. */
export const PASSWORD = "cli-test-password";

/** A started fleet. */
export interface Fleet {
  readonly work: string;
  readonly collector: CollectorProcess;
  readonly agent: AgentProcess;
  readonly ring: RingFile[];
  /** First second of packets in the ring. */
  readonly startSec: number;
  /** Admin's access token (REST and gRPC). */
  readonly adminToken: string;
  /** REST call as admin: status and parsed JSON body. */
  api(path: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }>;
  /** The raw REST download of a job's result, as admin. */
  restDownload(jobId: string): Promise<Buffer>;
  stop(): Promise<void>;
}

/** What a run of the `pcapfleet` bin gave. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `pcapfleet ARGS` with `env` over a clean environment; `input` goes to its stdin. */
export function cli(
  args: readonly string[],
  env: Record<string, string>,
  input?: string,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const base = { ...process.env };
    for (const key of ["PCAPFLEET_TOKEN", "PCAPFLEET_PASSWORD", "PCAPFLEET_COLLECTOR_GRPC"]) delete base[key];
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { ...base, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
    child.stdin.end(input ?? "");
  });
}

const shellQuote = (arg: string): string => `'${arg.replace(/'/g, "'\\''")}'`;

/**
 * Runs `pcapfleet ARGS` on a real pseudo-terminal (util-linux `script`), for what only happens
 * on a terminal: the hidden password prompt and the progress bar. When `answer` is given, its
 * text is typed once the output shows `prompt`. The output is what the terminal showed.
 */
export function cliOnTerminal(
  args: readonly string[],
  env: Record<string, string>,
  answer?: { prompt: string; text: string },
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, CLI, ...args].map(shellQuote).join(" ");
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    let answered = answer === undefined;
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (!answered && answer !== undefined && output.includes(answer.prompt)) {
        answered = true;
        child.stdin.write(answer.text);
      }
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, output }));
    if (answer === undefined) child.stdin.end();
  });
}

/** Starts the fleet; `name` prefixes its temporary directory. */
export async function startFleet(name: string, databaseUrl?: string): Promise<Fleet> {
  await ensureBuilt();
  const work = await mkdtemp(join(tmpdir(), `pf-${name}-`));
  const startSec = Math.floor(Date.now() / 1000) - 120;
  const ring = await writeRing(join(work, "ring-a"), {
    files: 3,
    fileBytes: 2 * 1024 * 1024,
    traffic: { start: { sec: startSec, nsec: 0 }, ratePps: 2000, seed: 41 },
  });
  const collector = await startCollectorProcess({
    dataDir: join(work, "data"),
    adminPassword: PASSWORD,
    databaseUrl,
    env: { PCAPFLEET_GRPC_LISTEN: `127.0.0.1:${await freePort()}` },
    config: {
      sensorStatus: { defaultHeartbeatIntervalSeconds: 0.5 },
      jobs: { retryBaseS: 0.2, retryMaxS: 1, maxAttempts: 3, leaseS: 5, pollMs: 200 },
    },
  });
  const login = await fetch(`${collector.httpUrl}/api/v1/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: PASSWORD }),
  });
  const adminToken = ((await login.json()) as { access_token: string }).access_token;
  const api = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${collector.httpUrl}/api/v1${path}`, {
      ...init,
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json", ...init.headers },
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown>,
    };
  };
  for (const role of ["viewer", "analyst"]) {
    const created = await api("/admin/users", {
      method: "POST",
      body: JSON.stringify({ username: role, password: PASSWORD, role }),
    });
    if (created.status !== 201) throw new Error(`cannot create ${role}: ${JSON.stringify(created.body)}`);
  }
  const agentConfig = (sensor: string, store: string) => ({
    sensor,
    location: "site-a",
    stores: [store],
    stateDir: join(work, `state-${sensor}`),
    collector: collector.grpcAddress,
    heartbeatS: 0.5,
    quietMs: 200,
  });
  // A sensor the collector knows but cannot reach: its tasks fail with sensor_offline.
  const gone = await startAgentProcess(work, agentConfig("sensor-gone", join(work, "ring-a")));
  await until("sensor-gone registered", async () =>
    (await api("/sensors/sensor-gone/status")).status === 200 ? true : undefined,
  );
  await gone.stop();
  const agent = await startAgentProcess(work, agentConfig("sensor-a", join(work, "ring-a")));
  await until("sensor-a online with its ring and sensor-gone offline", async () => {
    const rows = (await api("/sensors")).body["sensors"] as {
      name: string;
      status: string;
      pcap_newest_at?: string;
    }[];
    const a = rows.find((r) => r.name === "sensor-a");
    const g = rows.find((r) => r.name === "sensor-gone");
    return a?.status !== "offline" && a?.pcap_newest_at != null && g?.status === "offline" ? true : undefined;
  });
  return {
    work,
    collector,
    agent,
    ring,
    startSec,
    adminToken,
    api,
    async restDownload(jobId) {
      const response = await fetch(`${collector.httpUrl}/api/v1/jobs/${jobId}/pcap`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      if (response.status !== 200) throw new Error(`REST download: ${response.status}`);
      return Buffer.from(await response.arrayBuffer());
    },
    async stop() {
      await agent.stop();
      await collector.stop();
      await rm(work, { recursive: true, force: true });
    },
  };
}
