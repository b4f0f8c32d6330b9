/**
 * The `pcapfleet-agent` bin picks the bundled CLI (ADR 0012) only while it is up to date: a bundle
 * older than any file it was made of (a `tsc -b` without the bundling step) must not run. The bin
 * runs here over a test double of `dist/cli/` (two one-line modules saying which one ran), since
 * the real build is what is being guarded against.
 */
import { execFile } from "node:child_process";
import {
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
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
  // The classic script gets core's error classes from the bin, which imports the package.
  await mkdir(join(dir, "node_modules", "@pcapfleet"), { recursive: true });
  await symlink(
    join(import.meta.dirname, "..", "..", "..", "core"),
    join(dir, "node_modules", "@pcapfleet", "core"),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function ranWith(args: string[] = [], env: Record<string, string> = {}): Promise<string> {
  return (
    await run(process.execPath, [join(dir, "bin", "pcapfleet-agent.js"), ...args], {
      env: { ...process.env, PCAPFLEET_CACHE_DIR: "", ...env },
    })
  ).stdout;
}

/**
 * A double of the bundle as a classic script: says "script", and that it got core's AppError,
 * the bundle's URL and an import() resolving from dist/cli/.
 */
const scriptSaying = `(async function (__errors, __url, __import) {
  const input = await __import("./input.js");
  const facts = [typeof __errors.AppError, __url.endsWith("/dist/cli/pcapfleet-agent.bundle.js"), typeof input];
  return { main(argv) { process.stdout.write("script " + facts.join(" ") + " " + argv.join(" ")); return Promise.resolve(0); } };
})
`;

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

  it("runs the classic script while it is as new as the bundle, with a V8 code cache per command", async () => {
    await writeFile(join(dir, "dist", "cli", "input.js"), "export {};\n");
    await setTime("input.js", 1_700_000_000);
    await writeFile(join(dir, "dist", "cli", "pcapfleet-agent.script.js"), scriptSaying);
    await setTime("pcapfleet-agent.script.js", 1_700_000_100);
    const cache = join(dir, "cache");
    expect(await ranWith(["slice", "-w", "x"], { PCAPFLEET_CACHE_DIR: cache })).toBe(
      "script function true object slice -w x",
    );
    const [name, ...others] = await readdir(join(cache, "v8"));
    expect(others).toEqual([]);
    expect(name).toMatch(
      new RegExp(`^slice-${scriptSaying.length}-[0-9a-f]+-${process.version}-${process.arch}\\.bin$`),
    );
    const made = await readFile(join(cache, "v8", name as string));
    expect(made.length).toBeGreaterThan(0);
    // A damaged cache is rejected by V8: the script runs the same and the cache is made again.
    await writeFile(join(cache, "v8", name as string), "not a code cache");
    expect(await ranWith(["slice"], { PCAPFLEET_CACHE_DIR: cache })).toBe(
      "script function true object slice",
    );
    const remade = await readFile(join(cache, "v8", name as string));
    expect(remade.toString("latin1")).not.toBe("not a code cache");
    expect(remade.subarray(0, 8).equals(made.subarray(0, 8))).toBe(true);
    // Other commands run without a cache; so does everything with PCAPFLEET_CACHE_DIR empty.
    expect(await ranWith(["--help"], { PCAPFLEET_CACHE_DIR: cache })).toBe(
      "script function true object --help",
    );
    expect(await readdir(join(cache, "v8"))).toEqual([name]);
    // A script older than an input is stale; the (fresh) ES module bundle runs instead.
    await setTime("pcapfleet-agent.script.js", 1_700_000_050);
    await setTime("input.js", 1_700_000_080);
    expect(await ranWith()).toBe("bundle");
  });
});

describe("npm's bin (bin/pcapfleet-agent)", () => {
  // The real bin and build, reached through the workspace's node_modules/.bin link as npx does.
  // A NODE_EXTRA_CA_CERTS naming no file makes Node warn at start-up, which shows whether the
  // variable reached the process: the offline commands must run without it, others keep it.
  const npmBin = join(import.meta.dirname, "..", "..", "..", "node_modules", ".bin", "pcapfleet-agent");
  const started = async (args: string[]) =>
    run(npmBin, args, {
      cwd: tmpdir(),
      env: { ...process.env, PCAPFLEET_CACHE_DIR: "", NODE_EXTRA_CA_CERTS: "/nonexistent/ca.pem" },
    });

  it("runs the offline commands without NODE_EXTRA_CA_CERTS", async () => {
    const out = await started(["index", "--help"]);
    expect(out.stdout).toContain("index");
    expect(out.stderr).not.toContain("extra certs");
  });

  it("keeps NODE_EXTRA_CA_CERTS for the other commands", async () => {
    const out = await started(["--version"]);
    expect(out.stdout).toMatch(/\d+\.\d+\.\d+/);
    expect(out.stderr).toContain("extra certs");
  });
});
