import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { endianness, tmpdir } from "node:os";
import { join } from "node:path";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { afterAll, describe, expect, it } from "vitest";
import { emptyRecord, FilterError, LinkType, MAX_CAPLEN } from "../types.js";
import { Bpf, parseBpfDump } from "./bpf.js";
import { createFilterCompiler, libpcapMessage } from "./compile.js";
import { compileFilter, createFilter, createFilterSync, sharedFilterCompiler } from "./create-filter.js";
import { ether, ipv4, Tcp, tcp } from "./packets.test-support.js";

const dir = mkdtempSync(join(tmpdir(), "pcapfleet-filter-compile-"));
const compiler = createFilterCompiler({ workDir: join(dir, "headers") });
afterAll(() => {
  compiler.close();
  sharedFilterCompiler().close();
  rmSync(dir, { recursive: true, force: true });
});

/** The FilterError a rejected expression raises. */
async function rejection(expression: string, linkType: number): Promise<FilterError> {
  const error = await compiler.compile(expression, linkType).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FilterError);
  return error as FilterError;
}

describe("compileFilter with libpcap (tcpdump -r HEADER -ddd)", () => {
  it("returns the program tcpdump prints", async () => {
    const program = await compiler.compile("host 10.0.0.1 and tcp", LinkType.ETHERNET);
    expect(program[0]).toEqual({ code: Bpf.LD | Bpf.H | Bpf.ABS, jt: 0, jf: 0, k: 12 });
    expect(program.at(-1)).toEqual({ code: Bpf.RET | Bpf.K, jt: 0, jf: 0, k: 0 });
    expect(program.some((insn) => insn.k === 0x0a00_0001)).toBe(true);
  });

  it("compiles VLAN tests as packet loads, as for files (no ancillary loads)", async () => {
    const program = await compiler.compile("vlan 100", LinkType.ETHERNET);
    expect(program.some((insn) => insn.k === 0x8100)).toBe(true);
    expect(program.every((insn) => insn.k < 0xffe0_0000)).toBe(true);
  });

  it("compiles per link type and snaplen", async () => {
    const raw = await compiler.compile("tcp", LinkType.RAW, 1500);
    const ethernet = await compiler.compile("tcp", LinkType.ETHERNET, 1500);
    expect(raw).not.toEqual(ethernet);
    expect(raw.some((insn) => insn.code === (Bpf.RET | Bpf.K) && insn.k === 1500)).toBe(true);
    for (const linkType of [LinkType.LOOP, LinkType.LINUX_SLL2, LinkType.IPV4, LinkType.IPV6]) {
      await expect(compiler.compile("udp port 53", linkType)).resolves.not.toHaveLength(0);
    }
  });

  it("compiles for the capture's byte order where libpcap does (LINKTYPE_NULL)", async () => {
    const little = await compiler.compile("ip", LinkType.NULL, MAX_CAPLEN, "LE");
    const big = await compiler.compile("ip", LinkType.NULL, MAX_CAPLEN, "BE");
    expect(little.some((insn) => insn.k === 0x0200_0000)).toBe(true);
    expect(big.some((insn) => insn.k === 2)).toBe(true);
    await expect(compiler.compile("ip", LinkType.NULL)).resolves.toBe(endianness() === "LE" ? little : big);
  });

  it("caches programs, shares in-flight compiles, and agrees with the sync variant", async () => {
    const [a, b] = await Promise.all([
      compiler.compile("udp port 5353", LinkType.ETHERNET),
      compiler.compile("udp port 5353", LinkType.ETHERNET),
    ]);
    expect(a).toBe(b);
    expect(compiler.compileSync("udp port 5353", LinkType.ETHERNET)).toBe(a);
    const fresh = createFilterCompiler({ workDir: join(dir, "fresh") });
    expect(fresh.compileSync("udp port 5353", LinkType.ETHERNET)).toEqual(a);
    fresh.close();
  });

  it("treats an empty expression as accept-all without running tcpdump", async () => {
    const missing = createFilterCompiler({ tcpdump: join(dir, "no-such-tcpdump") });
    const program = await missing.compile("  ", LinkType.ETHERNET, 9000);
    expect(program).toEqual([{ code: Bpf.RET | Bpf.K, jt: 0, jf: 0, k: 9000 }]);
    expect(missing.compileSync("", LinkType.RAW)).toEqual([
      { code: Bpf.RET | Bpf.K, jt: 0, jf: 0, k: MAX_CAPLEN },
    ]);
  });
});

describe("compile errors carry libpcap's message", () => {
  it.each([
    ["host and", LinkType.ETHERNET, "can't parse filter expression: syntax error"],
    ["tcp port 99999", LinkType.ETHERNET, "illegal port number 99999 > 65535"],
    ["ip[0] << 33 != 0", LinkType.ETHERNET, "shift by more than 31 bits"],
    ["ip and ip6", LinkType.ETHERNET, "expression rejects all packets"],
    ["vlan", LinkType.RAW, "no VLAN support for Raw IP"],
    ["vlan 100 and host 10.0.0.1", LinkType.LINUX_SLL, "no VLAN support for Linux cooked v1"],
    ["ether host aa:bb:cc:dd:ee:ff", LinkType.RAW, "ethernet addresses supported only on"],
    ["udp", 9999, "unknown data link type 9999"],
  ])("%s on link type %i", async (expression, linkType, message) => {
    const error = await rejection(expression, linkType);
    expect(error.code).toBe(ErrorCode.InvalidArgument);
    expect(error.expression).toBe(expression);
    expect(error.message).toContain(message);
    expect(error.message).not.toContain("reading from file");
    expect(error.message).not.toContain("tcpdump:");
    expect(() => compiler.compileSync(expression, linkType)).toThrow(message);
  });

  it("rejects bad link types, snaplens and NUL bytes before running anything", async () => {
    await expect(compiler.compile("tcp", -1)).rejects.toThrow(FilterError);
    await expect(compiler.compile("tcp", LinkType.ETHERNET, MAX_CAPLEN + 1)).rejects.toThrow(/snaplen/);
    await expect(compiler.compile("tcp\0 or udp", LinkType.ETHERNET)).rejects.toThrow(/NUL/);
  });

  it("says tcpdump is required when it is missing", async () => {
    const missing = createFilterCompiler({ tcpdump: join(dir, "no-such-tcpdump") });
    const error = await missing.compile("tcp", LinkType.ETHERNET).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe(ErrorCode.Unavailable);
    expect((error as AppError).message).toMatch(/tcpdump \(libpcap\) is required to compile filters/);
    expect(() => missing.compileSync("tcp", LinkType.ETHERNET)).toThrow(/is required/);
    missing.close();
  });

  it("times out a tcpdump that hangs (a filter naming a host whose DNS does not answer)", async () => {
    const slow = join(dir, "slow-tcpdump.sh");
    writeFileSync(slow, "#!/bin/sh\nexec sleep 5\n");
    chmodSync(slow, 0o755);
    const hanging = createFilterCompiler({ tcpdump: slow, timeoutMs: 200 });
    const error = await hanging.compile("host example.org", LinkType.ETHERNET).catch((e: unknown) => e);
    expect((error as AppError).code).toBe(ErrorCode.Timeout);
    hanging.close();
  });

  it("strips tcpdump's banner and prefix", () => {
    const stderr =
      "reading from file /x.pcap, link-type EN10MB (Ethernet), snapshot length 262144\ntcpdump: syntax error\n";
    expect(libpcapMessage(stderr)).toBe("syntax error");
  });
});

describe("header files", () => {
  it("writes one header-only capture per link type and snaplen, removed by close()", async () => {
    const work = join(dir, "own");
    const own = createFilterCompiler({ workDir: work });
    await own.compile("tcp", LinkType.ETHERNET);
    await own.compile("udp", LinkType.ETHERNET);
    await own.compile("udp", LinkType.RAW, 128);
    await own.compile("udp", LinkType.RAW, 128, "BE");
    const host = endianness().toLowerCase();
    expect(readdirSync(work).sort()).toEqual(
      [
        `linktype-1-snaplen-262144-${host}.pcap`,
        `linktype-101-snaplen-128-${host}.pcap`,
        "linktype-101-snaplen-128-be.pcap",
      ].sort(),
    );
    own.close();
    expect(existsSync(work)).toBe(true); // not ours to delete

    const temp = createFilterCompiler();
    await temp.compile("tcp", LinkType.ETHERNET);
    temp.close();
  });

  it("parses only well-formed -ddd output", () => {
    expect(parseBpfDump("1\n6 0 0 65535\n")).toEqual([{ code: 6, jt: 0, jf: 0, k: 65535 }]);
    expect(() => parseBpfDump("2\n6 0 0 1\n")).toThrow(/unexpected/);
    expect(() => parseBpfDump("1\n6 0 x 1\n")).toThrow(/unexpected/);
  });
});

describe("createFilter", () => {
  it("matches PacketRecords with the JIT", async () => {
    const filter = await createFilter("tcp[tcpflags] & tcp-syn != 0", LinkType.ETHERNET);
    const frame = ether(
      "00:00:00:00:00:02",
      "00:00:00:00:00:01",
      0x0800,
      ipv4({ proto: 6, src: "10.0.0.1", dst: "10.0.0.2" }, tcp(1, 2, Tcp.SYN)),
    );
    const record = emptyRecord();
    record.buf = Buffer.concat([Buffer.alloc(40), Buffer.from(frame)]);
    record.dataOffset = 40;
    record.caplen = frame.length;
    record.origLen = frame.length;
    expect(filter.matches(record)).toBe(true);
    record.caplen = 47; // the flags byte is not captured
    expect(filter.matches(record)).toBe(false);
    expect(filter).toMatchObject({
      expression: "tcp[tcpflags] & tcp-syn != 0",
      linkType: 1,
      matchesAll: false,
    });

    const again = createFilterSync("tcp[tcpflags] & tcp-syn != 0", LinkType.ETHERNET);
    expect(again.program).toBe(filter.program);
    expect(again.test).toBe(filter.test);
    expect((await createFilter("", LinkType.ETHERNET)).matchesAll).toBe(true);
    await expect(compileFilter("host and", LinkType.ETHERNET)).rejects.toThrow(FilterError);
  });
});
