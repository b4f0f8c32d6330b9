/**
 * Differential test of the slice (issue #3): for many tcpdump expressions and time windows,
 * `pcapfleet-agent slice` must give exactly the packets of `mergecap` + `tcpdump -r EXPR` + the
 * window, in the same order, without indexes and with indexes built by `pcapfleet-agent index`.
 * Most combinations call the executor in process (same code as the bin); a set of cases runs the
 * real bin. The stores mix every capture variant (see stores.ts).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CaptureFile,
  formatIpv6,
  formatMac,
  type Host,
  type Instant,
  MemorySink,
  type Server,
  type Subnet,
  scanStores,
  sliceStore,
} from "@pcapfleet/pcap";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agent, ensureBuilt } from "./agent-bin.js";
import { inWindow, line, Reference, readRecords } from "./reference.js";
import { buildMainStore, buildRawStore, mainNetwork, START } from "./stores.js";

const v4 = (bytes: Uint8Array): string => [...bytes].join(".");
const v6 = (bytes: Uint8Array): string => formatIpv6(bytes, 0);
const mac = (bytes: Uint8Array): string => formatMac(bytes, 0);

const net = mainNetwork();
const host = net.hosts[3] as Host;
const other = net.hosts[6] as Host;
const server = net.servers[0] as Server;
const subnet = net.subnets[1] as Subnet;

/** Expressions for the Ethernet store: every primitive family, combined. */
const EXPRESSIONS: readonly string[] = [
  "",
  "tcp",
  "udp",
  "icmp",
  "icmp6",
  "ip",
  "ip6",
  "arp",
  "vlan",
  `vlan ${subnet.vlan}`,
  "vlan and vlan",
  "vlan 1001 or vlan 1002",
  "vlan and ip6 and tcp",
  `host ${v4(host.ipv4)}`,
  `src host ${v4(host.ipv4)}`,
  `dst host ${v4(server.ipv4)}`,
  `host ${v4(host.ipv4)} or host ${v4(other.ipv4)}`,
  `net ${subnet.ipv4Cidr}`,
  `src net 10.0.0.0/8 and dst port 53`,
  `ip6 host ${v6(host.ipv6)}`,
  `ip6 net ${subnet.ipv6Cidr}`,
  "ip6 net 2001:db8::/32",
  "port 53",
  "tcp port 443",
  "udp port 53 or tcp port 80",
  "tcp src port 22 or tcp dst port 3306",
  "portrange 1-1024",
  "tcp dst portrange 40000-50000",
  "not tcp",
  "not (udp or icmp or icmp6)",
  `(host ${v4(host.ipv4)} or ip6 host ${v6(host.ipv6)}) and not port 53`,
  "tcp[tcpflags] & tcp-syn != 0",
  "tcp[tcpflags] & (tcp-fin|tcp-rst) != 0",
  "tcp[13] & 0x12 == 0x12",
  "ip[6:2] & 0x1fff != 0",
  "ip[6] & 0x20 != 0",
  "ip6[6] == 44",
  "icmp[icmptype] == icmp-echo",
  "icmp6 and ip6[40] == 135",
  "ip proto 17",
  "less 100",
  "greater 1000",
  "len >= 600 and len <= 700",
  `ether host ${mac(host.mac)}`,
  `ether src ${mac(subnet.gatewayMac)}`,
  "ether multicast",
  "ether broadcast",
  "sctp",
  "host 203.0.113.250",
];

/** Expressions for the LINKTYPE_RAW store. */
const RAW_EXPRESSIONS: readonly string[] = [
  "",
  "tcp",
  "udp port 53",
  "ip6",
  "icmp",
  "ip[6:2] & 0x1fff != 0",
  "less 120",
];

interface Window {
  readonly name: string;
  readonly from?: Instant;
  readonly to?: Instant;
}

function windows(files: readonly CaptureFile[]): Window[] {
  const first = (i: number): Instant =>
    files[Math.min(i, files.length - 1)]?.first ?? { sec: START, nsec: 0 };
  const start = first(0);
  return [
    { name: "whole range" },
    {
      name: "across file boundaries, ending on a packet",
      from: { sec: start.sec + 1, nsec: start.nsec },
      to: first(files.length - 1),
    },
    {
      name: "nanosecond bounds",
      from: { sec: START + 3, nsec: 123_456_789 },
      to: { sec: START + 5, nsec: 1 },
    },
    { name: "empty (from = to)", from: first(files.length >> 1), to: first(files.length >> 1) },
    { name: "after the ring", from: { sec: START + 60, nsec: 0 }, to: { sec: START + 90, nsec: 0 } },
    { name: "before the ring", from: { sec: START - 100, nsec: 0 }, to: { sec: START, nsec: 0 } },
    { name: "open end, starting on a packet", from: first(2) },
    { name: "open start", to: { sec: START + 1, nsec: 750_000_000 } },
  ];
}

async function sliceLines(files: readonly CaptureFile[], expression: string, w: Window, stateDir?: string) {
  const sink = new MemorySink();
  const result = await sliceStore({
    files,
    filter: expression,
    output: sink,
    ...(w.from === undefined ? {} : { from: w.from }),
    ...(w.to === undefined ? {} : { to: w.to }),
    ...(stateDir === undefined ? {} : { stateDir }),
  });
  expect(result.skipped).toEqual([]);
  return { lines: (await readRecords(sink.toBuffer())).map(line), filesRead: result.filesRead };
}

const epoch = (t: Instant): string => `${t.sec}.${String(t.nsec).padStart(9, "0")}`;

describe.each([
  { store: "main", build: buildMainStore, expressions: EXPRESSIONS },
  { store: "raw", build: buildRawStore, expressions: RAW_EXPRESSIONS },
])("slice of the $store store equals mergecap + tcpdump", ({ build, expressions }) => {
  let work: string;
  let store: string;
  let state: string;
  let files: CaptureFile[];
  let reference: Reference;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "pcapfleet-slice-diff-"));
    store = join(work, "store");
    state = join(work, "state");
    await build(store);
    await ensureBuilt();
    files = (await scanStores([store])).files;
    reference = new Reference(
      files.map((file) => file.path),
      work,
    );
    const indexed = await agent(["index", "--store", store, "--state", state]);
    expect(indexed.code, indexed.stderr).toBe(0);
    expect(indexed.stdout.toString()).toContain(`index: ${files.length} files (${files.length} built`);
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it.each(expressions)("'%s' over every window, with and without indexes", async (expression) => {
    const all = await reference.matching(expression);
    for (const w of windows(files)) {
      const expected = inWindow(all, w.from, w.to).map(line);
      const scanned = await sliceLines(files, expression, w);
      expect(scanned.lines, `${w.name}, scanned`).toEqual(expected);
      const indexed = await sliceLines(files, expression, w, state);
      expect(indexed.lines, `${w.name}, indexed`).toEqual(expected);
      expect(indexed.filesRead).toBeLessThanOrEqual(scanned.filesRead);
    }
  });

  it("runs the real bin on a set of cases, scanned and indexed", async () => {
    const ws = windows(files);
    const cases = [expressions[0], expressions[1], expressions[3], expressions.at(-2)].flatMap(
      (expression, i) =>
        [ws[0], ws[1], ws[2]].map((w, j) => ({
          expression: expression ?? "",
          w: w as Window,
          indexed: (i + j) % 2 === 0,
        })),
    );
    for (const { expression, w, indexed } of cases) {
      const expected = inWindow(await reference.matching(expression), w.from, w.to).map(line);
      const out = join(work, "bin-out.pcap");
      const args = [
        "slice",
        "--store",
        store,
        "-w",
        out,
        "--state",
        indexed ? state : join(work, "no-state"),
      ];
      if (expression !== "") args.push("--filter", expression);
      if (w.from !== undefined) args.push("--from", epoch(w.from));
      if (w.to !== undefined) args.push("--to", epoch(w.to));
      const result = await agent(args);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(
        new RegExp(
          `^pcapfleet-agent slice: ${expected.length} packets, \\d+ bytes, \\d+ of ${files.length} files read, 0 skipped\\n$`,
        ),
      );
      expect((await readRecords(await readFile(out))).map(line), `${expression} ${w.name}`).toEqual(expected);
    }
  });

  it("writes to standard output with -w -, RFC 3339 bounds and the state directory from the environment", async () => {
    const expression = expressions[1] ?? "";
    const from = new Date((START + 2) * 1000).toISOString().replace(".000Z", ".25Z");
    const to = new Date((START + 7) * 1000).toISOString().replace(".000Z", "+00:00");
    const expected = inWindow(
      await reference.matching(expression),
      { sec: START + 2, nsec: 250_000_000 },
      { sec: START + 7, nsec: 0 },
    ).map(line);
    const result = await agent(
      ["slice", "--store", store, "--filter", expression, "--from", from, "--to", to, "-w", "-"],
      {
        PCAPFLEET_STATE_DIR: state,
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect((await readRecords(result.stdout)).map(line)).toEqual(expected);
  });
});
