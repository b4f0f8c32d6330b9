/**
 * The `pcapfleet-agent` bin picks the bundled CLI (ADR 0012) only while it is up to date: a bundle
 * older than any file it was made of (a `tsc -b` without the bundling step) must not run. The bin
 * runs here over a test double of `dist/cli/` (two one-line modules saying which one ran), since
 * the real build is what is being guarded against.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const BIN = join(import.meta.dirname, "..", "..", "bin", "pcapfleet-agent.js");
let dir: string;

const moduleSaying = (name: string) =>
  `export function main() { process.stdout.write(${JSON.stringify(name)}); return Promise.resolve(0); }\n`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pcapfleet-launcher-"));
  await mkdir(join(dir, "bin"));
  await mkdir(join(dir, "dist", "cli"), { recursive: true });
  await copyFile(BIN, join(dir, "bin", "pcapfleet-agent.js"));
  await writeFile(join(dir, "dist", "cli", "pcapfleet-agent.js"), moduleSaying("modules"));
  await writeFile(join(dir, "dist", "cli", "input.js"), "export {};\n");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function ranWith(): Promise<string> {
  return (await run(process.execPath, [join(dir, "bin", "pcapfleet-agent.js")])).stdout;
}

async function setTime(name: string, seconds: number): Promise<void> {
  await utimes(join(dir, "dist", "cli", name), seconds, seconds);
}

describe("pcapfleet-agent bin", () => {
  it("runs the compiled modules without a bundle", async () => {
    expect(await ranWith()).toBe("modules");
  });

  it("runs the bundle while it is newer than every input, the modules once one is newer", async () => {
    await writeFile(join(dir, "dist", "cli", "pcapfleet-agent.bundle.js"), moduleSaying("bundle"));
    await writeFile(
      join(dir, "dist", "cli", "pcapfleet-agent.bundle.json"),
      JSON.stringify({ inputs: ["pcapfleet-agent.js", "input.js"] }),
    );
    await setTime("pcapfleet-agent.js", 1_700_000_000);
    await setTime("input.js", 1_700_000_000);
    await setTime("pcapfleet-agent.bundle.js", 1_700_000_100);
    expect(await ranWith()).toBe("bundle");
    await setTime("input.js", 1_700_000_200);
    expect(await ranWith()).toBe("modules");
  });

  it("runs the modules when the manifest names a file that is gone", async () => {
    await setTime("input.js", 1_700_000_000);
    expect(await ranWith()).toBe("bundle");
    await rm(join(dir, "dist", "cli", "input.js"));
    expect(await ranWith()).toBe("modules");
  });
});
