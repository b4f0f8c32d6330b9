/**
 * A program under test started as a child process and ready once its start-up banner shows: its
 * stdout and stderr kept as text, the banner parsed from stdout, and a stop that sends SIGTERM
 * (SIGKILL after a grace period). Shared by the agent and collector process helpers.
 */
import type { ChildProcess } from "node:child_process";

/** Options of {@link awaitBanner}. */
export interface BannerOptions<T> {
  /** The program, for error messages ("agent", "collector"). */
  readonly what: string;
  /** How long start-up may take before the wait fails. */
  readonly timeoutMs: number;
  /** What the banner says, from all stdout and stderr so far; undefined until it is complete. */
  readonly parse: (text: string) => T | undefined;
}

/** A started child and what its banner said. */
export interface BannerChild<T> {
  readonly child: ChildProcess;
  readonly banner: T;
  /** Its stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then the exit code (SIGKILL after `ms`). */
  stop(ms: number): Promise<number | null>;
}

/**
 * Collects the output of `child` (spawned with piped stdout and stderr) and resolves once
 * `options.parse` finds the banner; rejects with the output so far when the child exits first or
 * the time runs out.
 */
export async function awaitBanner<T>(
  child: ChildProcess,
  options: BannerOptions<T>,
): Promise<BannerChild<T>> {
  let text = "";
  const append = (chunk: Buffer) => {
    text += chunk.toString();
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const banner = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${options.what} did not start:\n${text}`)),
      options.timeoutMs,
    );
    const check = () => {
      const found = options.parse(text);
      if (found !== undefined) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout?.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${options.what} exited with ${code} before serving:\n${text}`));
    });
  });
  return {
    child,
    banner,
    output: () => text,
    async stop(ms) {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), ms);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
