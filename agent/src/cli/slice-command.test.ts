import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CliIo, runCli } from "@pcapfleet/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentProgram } from "./pcapfleet-agent.js";
import { countFlag, storeFlags } from "./slice-command.js";

function io(env: Record<string, string> = {}): CliIo & { out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    env,
    stdout: { write: (text: string) => out.push(text) },
    stderr: { write: (text: string) => err.push(text) },
    out: () => out.join(""),
    err: () => err.join(""),
  };
}

let dir: string;
let store: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pcapfleet-agent-cli-"));
  store = join(dir, "store");
  await mkdir(store);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("pcapfleet-agent commands", () => {
  it("lists slice and index in the program help, each with its own help", async () => {
    const streams = io();
    expect(await runCli(agentProgram, ["--help"], streams)).toBe(0);
    expect(streams.out()).toMatch(/slice\s+write the packets matching a filter/);
    expect(streams.out()).toMatch(/index\s+build or refresh the per-file indexes/);
    const help = io();
    expect(await runCli(agentProgram, ["slice", "--help"], help)).toBe(0);
    expect(help.out()).toContain("Usage: pcapfleet-agent slice --store DIR");
  });

  it("reads repeated --store flags and positive counts", () => {
    expect(storeFlags({ store: ["a", "b"] })).toEqual(["a", "b"]);
    expect(() => storeFlags({})).toThrow("--store DIR is required");
    expect(countFlag({ "max-packets": "25" }, "max-packets")).toBe(25);
    expect(countFlag({}, "max-packets")).toBeUndefined();
    for (const bad of ["0", "-1", "1.5", "1e3", "", "9007199254740993"]) {
      expect(() => countFlag({ "max-bytes": bad }, "max-bytes"), bad).toThrow(/must be a positive integer/);
    }
  });

  it("slices an empty store into an empty pcap, in process", async () => {
    const streams = io({ PCAPFLEET_STATE_DIR: join(dir, "state") });
    const out = join(dir, "out.pcap");
    expect(
      await runCli(agentProgram, ["slice", "--store", store, "-w", out, "--filter", "tcp"], streams),
    ).toBe(0);
    expect(streams.err()).toBe("pcapfleet-agent slice: 0 packets, 24 bytes, 0 of 0 files read, 0 skipped\n");
    expect((await readFile(out)).length).toBe(24);
  });

  it("indexes an empty store and says so", async () => {
    const streams = io();
    const code = await runCli(
      agentProgram,
      ["index", "--store", store, "--state", join(dir, "state")],
      streams,
    );
    expect(streams.err()).toBe("");
    expect(code).toBe(0);
    expect(streams.out()).toMatch(/^index: 0 files \(0 built, 0 extended, 0 fresh, 0 open\), 0 packets/);
  });
});
