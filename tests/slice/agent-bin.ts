/**
 * Running the real `pcapfleet-agent` bin from the slice suites: built first (`tsc -b`, once per
 * process, serialised across test files by a lock file so two suites never build over each
 * other), then spawned with `node agent/bin/pcapfleet-agent.js`.
 */
import { execFile, spawn } from "node:child_process";
import { mkdir, open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The repository root. */
export const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "agent", "bin", "pcapfleet-agent.js");
const LOCK = join(ROOT, "node_modules", ".cache", "pcapfleet-slice-build.lock");

let built: Promise<void> | undefined;

/** Builds the workspaces once (incremental: quick when nothing changed). */
export function ensureBuilt(): Promise<void> {
  built ??= (async () => {
    await mkdir(join(LOCK, ".."), { recursive: true });
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        await (await open(LOCK, "wx")).close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST" || Date.now() > deadline) throw error;
        // A lock left by a test process that died mid-build: no build takes a minute.
        const age = Date.now() - ((await stat(LOCK).catch(() => undefined))?.mtimeMs ?? Date.now());
        if (age > 60_000) await rm(LOCK, { force: true });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    try {
      await run(join(ROOT, "node_modules", ".bin", "tsc"), ["-b"], { cwd: ROOT });
    } finally {
      await rm(LOCK, { force: true });
    }
  })();
  return built;
}

/** What a run of the bin gave. */
export interface BinResult {
  /** Exit code. */
  readonly code: number;
  /** Standard output, raw (a capture with `-w -`). */
  readonly stdout: Buffer;
  /** Standard error, as text. */
  readonly stderr: string;
}

/** Runs `pcapfleet-agent ARGS`, resolving whatever the exit code. */
export function agent(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") });
    });
  });
}
