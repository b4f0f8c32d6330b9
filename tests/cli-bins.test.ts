import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
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
