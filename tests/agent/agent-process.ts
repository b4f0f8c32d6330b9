/**
 * The real `pcapfleet-agent run` as a child process for the daemon tests: started with a YAML
 * config, its address read from its first stdout line, its log lines kept, stopped with SIGTERM.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { ROOT } from "../slice/agent-bin.js";
import { awaitBanner } from "../support/banner-child.js";

const BIN = join(ROOT, "agent", "bin", "pcapfleet-agent.js");

/** A running agent process. */
export interface AgentProcess {
  readonly child: ChildProcess;
  /** host:port of its CaptureService. */
  readonly address: string;
  /** Its stderr and stdout so far (JSON log lines and the banner). */
  output(): string;
  /** SIGTERM, then the exit code (SIGKILL after `ms`, which fails the wait). */
  stop(ms?: number): Promise<number | null>;
}

/** Writes `config` as YAML into `dir` and starts the agent on it. */
export async function startAgentProcess(dir: string, config: Record<string, unknown>): Promise<AgentProcess> {
  const file = join(dir, `agent-${Date.now()}.yaml`);
  await writeFile(file, stringify({ listen: "127.0.0.1:0", logLevel: "info", ...config }));
  const child = spawn(process.execPath, [BIN, "run", "--config", file], {
    cwd: ROOT,
    env: { ...process.env, PCAPFLEET_STORE: "", PCAPFLEET_COLLECTOR: "", PCAPFLEET_AGENT_LISTEN: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const started = await awaitBanner(child, {
    what: "agent",
    timeoutMs: 20_000,
    parse: (text) => /serving on (\S+)/.exec(text)?.[1],
  });
  return { child, address: started.banner, output: started.output, stop: (ms = 15_000) => started.stop(ms) };
}
