import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FilterError, LinkType } from "../types.js";
import { createFilterCompiler, type FilterCompiler } from "./compile.js";
import { cacheableExpression, toolIdentity } from "./program-cache.js";

const dir = mkdtempSync(join(tmpdir(), "pcapfleet-program-cache-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A tcpdump that is the real one run through a script logging each run: the test counts the
 * processes a compile starts. Rewriting the script is "the tcpdump binary changed".
 */
function countingTcpdump(name: string, note = ""): { path: string; runs: () => number } {
  const path = join(dir, name);
  const log = `${path}.log`;
  writeFileSync(log, "");
  writeFileSync(path, `#!/bin/sh\n# ${note}\necho run >> '${log}'\nexec tcpdump "$@"\n`);
  chmodSync(path, 0o755);
  return { path, runs: () => readFileSync(log, "utf8").split("\n").filter(Boolean).length };
}

/** A compiler as a new process would have it: nothing in memory, the disk cache in `cacheDir`. */
function fresh(tcpdump: string, cacheDir: string): FilterCompiler {
  return createFilterCompiler({ tcpdump, cacheDir, workDir: join(dir, "headers") });
}

const entries = (cacheDir: string) => readdirSync(cacheDir).filter((n) => n.endsWith(".bpf.json"));

describe("compiled programs kept on disk", () => {
  const expression = "host 10.8.3.101 and tcp";

  it("gives a new compiler the program libpcap printed, without running tcpdump", async () => {
    const tool = countingTcpdump("tcpdump-a");
    const cacheDir = join(dir, "cache-a");
    const reference = await createFilterCompiler({ tcpdump: "tcpdump" }).compile(
      expression,
      LinkType.ETHERNET,
    );
    const first = fresh(tool.path, cacheDir);
    expect(await first.compile(expression, LinkType.ETHERNET)).toEqual(reference);
    expect(tool.runs()).toBe(1);
    expect(entries(cacheDir)).toHaveLength(1);
    const second = fresh(tool.path, cacheDir);
    expect(await second.compile(expression, LinkType.ETHERNET)).toEqual(reference);
    expect(second.compileSync(expression, LinkType.ETHERNET)).toEqual(reference);
    expect(fresh(tool.path, cacheDir).compileSync(expression, LinkType.ETHERNET)).toEqual(reference);
    expect(tool.runs()).toBe(1);
    // Another format or expression is another entry.
    expect(await second.compile(expression, LinkType.RAW)).not.toEqual(reference);
    expect(await second.compile(expression, LinkType.ETHERNET, 1500)).not.toEqual(reference);
    expect(tool.runs()).toBe(3);
    expect(entries(cacheDir)).toHaveLength(3);
  });

  it("compiles again, with the same result, when an entry is damaged, and rewrites it", async () => {
    const tool = countingTcpdump("tcpdump-b");
    const cacheDir = join(dir, "cache-b");
    const reference = await fresh(tool.path, cacheDir).compile(expression, LinkType.ETHERNET);
    const [name] = entries(cacheDir);
    const path = join(cacheDir, name as string);
    const good = readFileSync(path, "utf8");
    const entry = JSON.parse(good) as { dump: string };
    const damaged = [
      "",
      good.slice(0, good.length / 2),
      "garbage\0\n",
      "null",
      JSON.stringify({ ...entry, dump: entry.dump.replace(/\n(\d+) /, "\n$1$1 ") }),
      JSON.stringify({ ...entry, v: 0 }),
      JSON.stringify({ ...entry, dump: "1\n6 0 0 262144\n" }),
    ];
    let runs = tool.runs();
    for (const text of damaged) {
      writeFileSync(path, text);
      expect(await fresh(tool.path, cacheDir).compile(expression, LinkType.ETHERNET), text).toEqual(
        reference,
      );
      expect(tool.runs(), text).toBe(++runs);
      expect(readFileSync(path, "utf8")).toBe(good);
    }
    // A program that passes the checksum but is not tcpdump's output is not a program.
    const bogus = { ...entry, dump: "three\n" };
    writeFileSync(path, JSON.stringify(bogus));
    expect(await fresh(tool.path, cacheDir).compile(expression, LinkType.ETHERNET)).toEqual(reference);
  });

  it("misses when the tcpdump binary changes", async () => {
    const cacheDir = join(dir, "cache-c");
    const before = countingTcpdump("tcpdump-c", "build 1");
    const reference = await fresh(before.path, cacheDir).compile(expression, LinkType.ETHERNET);
    expect(before.runs()).toBe(1);
    const identity = toolIdentity(before.path, {});
    const after = countingTcpdump("tcpdump-c", "build 2, same path");
    expect(toolIdentity(after.path, {})).not.toBe(identity);
    expect(await fresh(after.path, cacheDir).compile(expression, LinkType.ETHERNET)).toEqual(reference);
    expect(after.runs()).toBe(1);
    expect(await fresh(after.path, cacheDir).compile(expression, LinkType.ETHERNET)).toEqual(reference);
    expect(after.runs()).toBe(1);
    // The loader's variables decide which libpcap runs: they are part of the identity too.
    expect(toolIdentity(after.path, { LD_LIBRARY_PATH: "/opt/lib" })).not.toBe(toolIdentity(after.path, {}));
    expect(toolIdentity(join(dir, "no-such-tcpdump"), {})).toBeNull();
  });

  it("never stores expressions libpcap resolves by name, nor rejected ones", async () => {
    const tool = countingTcpdump("tcpdump-d");
    const cacheDir = join(dir, "cache-d");
    for (const named of ["host localhost", "tcp port http", "ip proto \\tcp"]) {
      await fresh(tool.path, cacheDir).compile(named, LinkType.ETHERNET);
      await fresh(tool.path, cacheDir).compile(named, LinkType.ETHERNET);
    }
    expect(tool.runs()).toBe(6);
    await expect(
      fresh(tool.path, cacheDir).compile("host 10.0.0.1 and", LinkType.ETHERNET),
    ).rejects.toBeInstanceOf(FilterError);
    expect(readdirSync(dir)).not.toContain("cache-d");
  });

  it("tells names from keywords and literals as libpcap's lexer does", () => {
    for (const yes of [
      "host 10.8.3.101 and tcp",
      "tcp[tcpflags] & (tcp-syn|tcp-ack) != 0",
      "ip6 net 2001:db8::/32 or ether host 00:11:22:33:44:55",
      "vlan 100 and (udp portrange 1000-2000 or not icmp)",
      "ip[2:2] > 576 and len - 14 >= 0x40",
      "net 10.0.0.0/8 or net 172.16 mask 255.240.0.0",
      "icmp[icmptype] == icmp-echo",
      "",
    ]) {
      expect(cacheableExpression(yes), yes).toBe(true);
    }
    for (const no of [
      "host example.com",
      "port http",
      "host 1a",
      "host 10.1.2.3.4",
      "host cafe",
      "len-14 > 0",
      "ip proto \\tcp",
      "ether host gw",
      "host 1000-2000",
      "TCP",
    ]) {
      expect(cacheableExpression(no), no).toBe(false);
    }
  });

  it("compiles as usual when the cache directory cannot be written", async () => {
    const tool = countingTcpdump("tcpdump-e");
    const blocked = join(dir, "a-file");
    writeFileSync(blocked, "");
    const compiler = fresh(tool.path, join(blocked, "bpf"));
    const reference = await createFilterCompiler().compile(expression, LinkType.ETHERNET);
    expect(await compiler.compile(expression, LinkType.ETHERNET)).toEqual(reference);
    expect(await fresh(tool.path, join(blocked, "bpf")).compile(expression, LinkType.ETHERNET)).toEqual(
      reference,
    );
    expect(tool.runs()).toBe(2);
  });
});
