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

// A stand-in `node` first on PATH shows what a launcher runs: the allocator settings, the flags
// and the script.
async function launch(bin: string, args: string[], env: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pf-launcher-"));
  try {
    await writeFile(join(dir, "node"), '#!/bin/sh\necho "$MALLOC_MMAP_THRESHOLD_ $*"\n', { mode: 0o755 });
    const { stdout } = await run(join(root, "node_modules", ".bin", bin), args, {
      env: { ...process.env, ...env, PATH: `${dir}:${process.env["PATH"] ?? ""}` },
    });
    return stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("pcapfleet-collector's launcher", () => {
  const script = join(root, "collector", "bin", "pcapfleet-collector.js");
  const collector = (env: Record<string, string>) => launch("pcapfleet-collector", ["run", "-c", "x y"], env);

  it("runs the collector with buffers of 128 KiB and more mapped on their own, unless told otherwise", async () => {
    expect(await collector({})).toMatch(/^131072 /);
    expect(await collector({ MALLOC_MMAP_THRESHOLD_: "65536" })).toMatch(/^65536 /);
  });

  it("gives V8 an 80 MB floor under the old generation's limit, or the flags PCAPFLEET_V8_FLAGS names", async () => {
    expect(await collector({})).toBe(`131072 --initial-old-space-size=80 ${script} run -c x y\n`);
    expect(
      await collector({ PCAPFLEET_V8_FLAGS: "--max-old-space-size=512 --initial-old-space-size=32" }),
    ).toBe(`131072 --max-old-space-size=512 --initial-old-space-size=32 ${script} run -c x y\n`);
    expect(await collector({ PCAPFLEET_V8_FLAGS: "" })).toBe(`131072 ${script} run -c x y\n`);
  });
});

describe("pcapfleet-agent's launcher", () => {
  const script = join(root, "agent", "bin", "pcapfleet-agent.js");
  const env = { MALLOC_MMAP_THRESHOLD_: "-" };

  it("gives the daemon a 64 MB floor under V8's old-generation limit, or the flags PCAPFLEET_V8_FLAGS names", async () => {
    expect(await launch("pcapfleet-agent", ["run", "-c", "a.yaml"], env)).toBe(
      `- --initial-old-space-size=64 ${script} run -c a.yaml\n`,
    );
    expect(
      await launch("pcapfleet-agent", ["run"], { ...env, PCAPFLEET_V8_FLAGS: "--stack-size=2000" }),
    ).toBe(`- --stack-size=2000 ${script} run\n`);
    expect(await launch("pcapfleet-agent", ["run"], { ...env, PCAPFLEET_V8_FLAGS: "" })).toBe(
      `- ${script} run\n`,
    );
  });

  it("runs the offline commands with V8's defaults", async () => {
    expect(await launch("pcapfleet-agent", ["slice", "--help"], env)).toBe(`- ${script} slice --help\n`);
    expect(await launch("pcapfleet-agent", ["index", "x"], env)).toBe(`- ${script} index x\n`);
  });
});

describe("pcapfleet's launcher", () => {
  const script = join(root, "collector", "bin", "pcapfleet.js");
  const env = { MALLOC_MMAP_THRESHOLD_: "-" };

  it("gives the CLI a 64 MB floor under V8's old-generation limit, or the flags PCAPFLEET_V8_FLAGS names", async () => {
    expect(await launch("pcapfleet", ["jobs", "download", "j1", "-o", "a b.pcap"], env)).toBe(
      `- --initial-old-space-size=64 ${script} jobs download j1 -o a b.pcap\n`,
    );
    expect(
      await launch("pcapfleet", ["sensors", "ls"], { ...env, PCAPFLEET_V8_FLAGS: "--stack-size=2000" }),
    ).toBe(`- --stack-size=2000 ${script} sensors ls\n`);
    expect(await launch("pcapfleet", ["jobs", "ls"], { ...env, PCAPFLEET_V8_FLAGS: "" })).toBe(
      `- ${script} jobs ls\n`,
    );
  });
});
