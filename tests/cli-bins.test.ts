import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..");
const version = (JSON.parse(readFileSync(join(root, "core", "package.json"), "utf8")) as { version: string })
  .version;

// The bins as `npm install` links them into node_modules/.bin, run as real processes.
describe.each(["pcapfleet-agent", "pcapfleet-collector", "pcapfleet"])("%s", (bin) => {
  const path = join(root, "node_modules", ".bin", bin);

  it("prints its version", async () => {
    const { stdout } = await run(path, ["--version"]);
    expect(stdout).toBe(`${version}\n`);
  });

  it("prints help naming itself", async () => {
    const { stdout } = await run(path, ["--help"]);
    expect(stdout).toContain(`Usage: ${bin} <command> [options]`);
  });

  it("rejects an unknown command with exit 2 and one line", async () => {
    const failure = await run(path, ["no-such-command"]).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure).toMatchObject({
      code: 2,
      stderr: `${bin}: unknown command 'no-such-command' (see ${bin} --help)\n`,
    });
  });
});

describe("pcapfleet-collector's launcher", () => {
  // A stand-in `node` first on PATH shows what the launcher runs, and with which allocator setting.
  const launch = async (env: Record<string, string>) => {
    const dir = await mkdtemp(join(tmpdir(), "pf-launcher-"));
    try {
      await writeFile(join(dir, "node"), '#!/bin/sh\necho "$MALLOC_MMAP_THRESHOLD_ $*"\n', { mode: 0o755 });
      const { stdout } = await run(
        join(root, "node_modules", ".bin", "pcapfleet-collector"),
        ["run", "-c", "x y"],
        {
          env: { ...process.env, ...env, PATH: `${dir}:${process.env["PATH"] ?? ""}` },
        },
      );
      return stdout;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  it("runs the collector with buffers of 128 KiB and more mapped on their own, unless told otherwise", async () => {
    const script = join(root, "collector", "bin", "pcapfleet-collector.js");
    expect(await launch({})).toBe(`131072 ${script} run -c x y\n`);
    expect(await launch({ MALLOC_MMAP_THRESHOLD_: "65536" })).toBe(`65536 ${script} run -c x y\n`);
  });
});
