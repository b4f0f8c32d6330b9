/**
 * The safety rule checked against the real tcpdump: for every expression, each record tcpdump
 * keeps must be among the index's candidates, on every link type, with VLAN/QinQ, IPv6
 * extension chains, fragments, ARP/RARP, malformed headers and snaplen-cut packets. Selective
 * expressions must also stay narrow, or the index would be useless.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createDecodedPacket, decodeFrame } from "../decode/index.js";
import { classicFixture, type FixturePacket } from "../format/index.js";
import { planFilter } from "../plan/filter-terms.js";
import { LinkType } from "../types.js";
import { buildIndex } from "./build.js";
import type { CaptureIndex } from "./capture-index.js";
import {
  type CorpusRecord,
  ethernetCorpus,
  ip4Text,
  ip6Text,
  readRecords,
  sequential,
  tcpdumpOffsets,
  trafficPackets,
} from "./corpus.test-support.js";
import { craftedFrames } from "./crafted.test-support.js";

const dir = mkdtempSync(join(tmpdir(), "pcapfleet-index-tcpdump-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Capture {
  path: string;
  records: CorpusRecord[];
  index: CaptureIndex;
}

const captures = new Map<string, Promise<Capture>>();

/** Writes (once) and indexes a capture of `packets` on `linkType`. */
function capture(name: string, packets: () => FixturePacket[], linkType: number): Promise<Capture> {
  let pending = captures.get(name);
  if (pending === undefined) {
    const path = join(dir, `${name}.pcap`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path, classicFixture(packets(), { variant: "nsec-le", linkType }));
    pending = Promise.all([readRecords(path), buildIndex(path)]).then(([records, index]) => ({
      path,
      records,
      index,
    }));
    captures.set(name, pending);
  }
  return pending;
}

/** Checks the superset rule for `expression`; returns candidate and match counts. */
async function check(c: Capture, expression: string): Promise<{ candidates: number; matches: number }> {
  const matches = await tcpdumpOffsets(c.path, expression, c.records);
  const answer = c.index.candidates(planFilter(expression));
  if (answer.kind === "all") return { candidates: c.records.length, matches: matches.length };
  const set = new Set(answer.offsets);
  const missed = matches.filter((offset) => !set.has(offset));
  expect(missed, `records tcpdump keeps for '${expression}' but the index does not list`).toEqual([]);
  return { candidates: answer.offsets.length, matches: matches.length };
}

const decoded = createDecodedPacket();

/** Host, net, port and protocol expressions taken from the decoder's reading of `frames`. */
function expressionsFor(frames: readonly Buffer[], linkType: number): string[] {
  const out = new Set<string>();
  for (const frame of frames) {
    const d = decodeFrame(frame, 0, frame.length, frame.length, linkType, decoded);
    if ((d.l3 === "ipv4" || d.l3 === "arp") && d.srcOffset >= 0) {
      out.add(`host ${ip4Text(d.src4)}`);
      out.add(`dst net ${ip4Text(d.dst4 & 0xffffff00)}/24`);
    }
    if (d.l3 === "ipv6" && d.srcOffset >= 0) out.add(`ip6 host ${ip6Text(d.buf, d.srcOffset)}`);
    if (d.srcPort >= 0) out.add(`port ${d.srcPort}`);
    if (d.dstPort >= 0)
      out.add(`${d.ipProto === 17 ? "udp" : d.ipProto === 6 ? "tcp" : "sctp"} dst port ${d.dstPort}`);
    if (d.vlanCount > 0) out.add(`vlan ${d.vlanIds[0]}`);
  }
  return [...out];
}

const ethernetFrames = ethernetCorpus(3000).map((p) => p.data);
const crafted = craftedFrames();
const ethernet = () => capture("ethernet", () => sequential(ethernetFrames), LinkType.ETHERNET);

describe("candidates ⊇ tcpdump on Ethernet (traffic, crafted edge cases, truncations)", () => {
  const generic = [
    "tcp",
    "udp",
    "icmp",
    "icmp6",
    "sctp",
    "ip proto 47",
    "ip6 proto 0",
    "ip6 proto 51",
    "ip6 proto 44",
    "vlan",
    "vlan and vlan",
    "vlan 3002 and vlan 3003 and vlan 3004 and host 198.51.100.30",
    "vlan and host 198.51.100.33",
    "port 53 or port 40012",
    "portrange 40000-40100",
    "net 198.51.100.0/24",
    "ip6 net 2001:db8::/32",
    "host 198.51.100.24 or host 198.51.100.25",
    "arp and host 198.51.100.20",
    "rarp",
    "tcp and not port 443",
    "host 198.51.100.7 and port 40007",
  ];
  const derived = expressionsFor(
    [...crafted, ...ethernetFrames.slice(0, 3000).filter((_, i) => i % 150 === 0)],
    1,
  );

  it.each([...generic, ...derived])("%s", async (expression) => {
    await check(await ethernet(), expression);
  });

  it("keeps selective terms narrow", async () => {
    const c = await ethernet();
    const n = c.records.length;
    for (const expression of [
      "host 198.51.100.7",
      "port 40005",
      "ip6 host 2001:db8::e5",
      "vlan 3001",
      "ip proto 47",
    ]) {
      const answer = c.index.candidates(planFilter(expression));
      expect(answer.kind, expression).toBe("offsets");
      const { candidates, matches } = await check(c, expression);
      expect(matches, expression).toBeGreaterThan(0);
      expect(candidates, expression).toBeLessThan(n / 20);
    }
  });
});

describe("candidates ⊇ tcpdump with a 60-byte snaplen", () => {
  const packets = trafficPackets({ seed: 11, packets: 2500, vlanShare: 0.3, ipv6Share: 0.4, snaplen: 60 });
  const frames = [...packets.map((p) => p.data), ...crafted.map((f) => f.subarray(0, 60))];
  const cut = () => capture("snaplen60", () => sequential(frames), LinkType.ETHERNET);
  it.each([
    "tcp",
    "udp",
    "vlan",
    ...expressionsFor(
      frames.filter((_, i) => i % 120 === 0),
      1,
    ),
  ])("%s", async (e) => {
    await check(await cut(), e);
  });
});

const otherLinks: Array<[string, number]> = [
  ["sll", LinkType.LINUX_SLL],
  ["sll2", LinkType.LINUX_SLL2],
  ["null", LinkType.NULL],
  ["loop", LinkType.LOOP],
  ["raw", LinkType.RAW],
  ["ipv4", LinkType.IPV4],
  ["ipv6", LinkType.IPV6],
];

describe.each(otherLinks)("candidates ⊇ tcpdump on link type %s", (name, linkType) => {
  const packets = trafficPackets({ seed: 13 + linkType, packets: 600, linkType, ipv6Share: 0.4 });
  const frames = packets.map((p) => p.data);
  const expressions = [
    ...(linkType === LinkType.IPV6 ? ["ip6 proto 17", "icmp6"] : ["tcp", "udp", "icmp"]),
    ...expressionsFor(
      frames.filter((_, i) => i % 100 === 3),
      linkType,
    ).slice(0, 6),
  ];
  it.each(expressions)("%s", async (expression) => {
    const c = await capture(name, () => sequential(frames), linkType);
    const { candidates, matches } = await check(c, expression);
    // A rare host or port must come back as a short list, not as "scan everything".
    if (matches < c.records.length / 16) expect(candidates).toBeLessThan(c.records.length / 4);
  });
});
