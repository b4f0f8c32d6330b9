import { closeSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "@pcapfleet/core";
import { classicFixture, generateTraffic, TrafficGenerator } from "@pcapfleet/pcap";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentProgram, fdWriter } from "./pcapfleet-agent.js";
import { filterCacheDir } from "./slice-command.js";

let dir: string;
let store: string;
let host: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pcapfleet-agent-filter-cache-"));
  store = join(dir, "store");
  await mkdir(store);
  const options = { seed: 5, packets: 3000, start: { sec: 1_700_000_000, nsec: 0 } };
  host = [...(new TrafficGenerator(options).network.hosts[3]?.ipv4 ?? [])].join(".");
  const packets = [...generateTraffic(options)].map((p) => ({
    data: p.data,
    tsSec: p.tsSec,
    tsNsec: p.tsNsec,
    origLen: p.origLen,
  }));
  await writeFile(join(store, "ring-0.pcap"), classicFixture(packets.slice(0, 1500), { variant: "usec-le" }));
  await writeFile(join(store, "ring-1.pcap"), classicFixture(packets.slice(1500), { variant: "nsec-be" }));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `pcapfleet-agent slice` in process; resolves to the output's bytes. */
async function slice(out: string, env: Record<string, string>, filter: string): Promise<Buffer> {
  const err: string[] = [];
  const io = { env, stdout: { write: () => true }, stderr: { write: (text: string) => err.push(text) } };
  const code = await runCli(agentProgram, ["slice", "--store", store, "--filter", filter, "-w", out], io);
  expect(err.join(""), err.join("")).toMatch(/packets/);
  expect(code).toBe(0);
  return readFileSync(join(dir, out.split("/").at(-1) as string));
}

describe("pcapfleet-agent slice's filter cache", () => {
  it("puts compiled filters in PCAPFLEET_CACHE_DIR, else the XDG cache, and can be turned off", () => {
    expect(filterCacheDir({ PCAPFLEET_CACHE_DIR: "/var/cache/pf", HOME: "/home/a" })).toBe(
      "/var/cache/pf/bpf",
    );
    expect(filterCacheDir({ PCAPFLEET_CACHE_DIR: "", HOME: "/home/a" })).toBe("");
    expect(filterCacheDir({ XDG_CACHE_HOME: "/x", HOME: "/home/a" })).toBe("/x/pcapfleet/bpf");
    expect(filterCacheDir({ XDG_CACHE_HOME: "relative", HOME: "/home/a" })).toBe(
      "/home/a/.cache/pcapfleet/bpf",
    );
    expect(filterCacheDir({})).toBe("");
  });

  it("gives the same output from a cached, a damaged and no cache", async () => {
    const filter = `tcp and not host ${host}`;
    const cache = join(dir, "cache");
    const plain = await slice(join(dir, "plain.pcap"), { PCAPFLEET_CACHE_DIR: "" }, filter);
    expect(plain.length).toBeGreaterThan(24 + 16 * 20);
    const first = await slice(join(dir, "first.pcap"), { PCAPFLEET_CACHE_DIR: cache }, filter);
    // One program per capture format (little-endian µs, big-endian ns).
    const entries = readdirSync(join(cache, "bpf"));
    expect(entries).toHaveLength(2);
    const cached = await slice(join(dir, "cached.pcap"), { PCAPFLEET_CACHE_DIR: cache }, filter);
    for (const [i, name] of entries.entries()) {
      const path = join(cache, "bpf", name);
      const entry = JSON.parse(readFileSync(path, "utf8")) as { dump: string };
      // One damaged beyond reading, one whose program was edited (its checksum no longer holds).
      writeFileSync(
        path,
        i === 0 ? '{"v":1,' : JSON.stringify({ ...entry, dump: entry.dump.replace(/ 0 0 /, " 1 0 ") }),
      );
    }
    const damaged = await slice(join(dir, "damaged.pcap"), { PCAPFLEET_CACHE_DIR: cache }, filter);
    expect(first.equals(plain)).toBe(true);
    expect(cached.equals(plain)).toBe(true);
    expect(damaged.equals(plain)).toBe(true);
  });
});

describe("fdWriter", () => {
  it("writes whole messages to the descriptor, and loses them quietly when it is gone", () => {
    const path = join(dir, "messages.txt");
    const fd = openSync(path, "w");
    const writer = fdWriter(fd, () => {
      throw new Error("not used for a file");
    });
    expect(writer.write("one\n")).toBe(true);
    expect(writer.write(`${"é".repeat(100_000)}\n`)).toBe(true);
    closeSync(fd);
    expect(readFileSync(path, "utf8")).toBe(`one\n${"é".repeat(100_000)}\n`);
    expect(writer.write("after close\n")).toBe(false);
  });
});
