/**
 * Random frames against the real tcpdump: bytes that are mostly garbage behind a link header
 * that announces IPv4, IPv6, ARP or VLAN tags. Whatever libpcap's program makes of them, the
 * index must list every record it keeps. Expressions take their values from the bytes at the
 * offsets libpcap loads, so many of them match something.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { classicFixture } from "../format/index.js";
import { planFilter } from "../plan/filter-terms.js";
import { Prng } from "../synth/index.js";
import { LinkType } from "../types.js";
import { buildIndex } from "./build.js";
import { ip4Text, ip6Text, readRecords, sequential, tcpdumpOffsets } from "./corpus.test-support.js";

const dir = mkdtempSync(join(tmpdir(), "pcapfleet-index-fuzz-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ETHERTYPES = [0x0800, 0x0800, 0x86dd, 0x86dd, 0x0806, 0x8035, 0x8100, 0x88a8, 0x9100];

/** A random frame of `linkType` whose link header announces something the index reads. */
function randomFrame(rng: Prng, linkType: number): Buffer {
  const body = rng.bytes(rng.range(0, 110));
  if (rng.chance(0.5) && body.length > 0) body[0] = rng.chance(0.5) ? 0x45 : 0x60; // plausible IP versions
  if (rng.chance(0.4) && body.length > 9) body[9] = rng.pick([6, 17, 132]); // transports, so ports get read
  if (rng.chance(0.3) && body.length > 7) body.writeUInt16BE(0, 6); // not a later fragment
  if (rng.chance(0.3) && body.length > 6) body[6] = rng.pick([0, 6, 17, 43, 44, 51, 60]);
  switch (linkType) {
    case LinkType.ETHERNET: {
      const header = rng.bytes(14);
      header.writeUInt16BE(rng.pick(ETHERTYPES), 12);
      const tagged = header.readUInt16BE(12) >= 0x8100;
      const tag = Buffer.from([0, rng.int(4), 0x08, 0x00]);
      if (tagged && rng.chance(0.5)) tag.writeUInt16BE(rng.pick(ETHERTYPES), 2);
      return Buffer.concat(tagged ? [header, tag.subarray(0, rng.range(0, 4)), body] : [header, body]);
    }
    case LinkType.NULL: {
      const family = Buffer.alloc(4);
      const value = rng.pick([2, 24, 28, 30, 10]);
      if (rng.chance(0.5)) family.writeUInt32LE(value);
      else family.writeUInt32BE(value);
      return Buffer.concat([family, body]);
    }
    case LinkType.LINUX_SLL2: {
      const header = rng.bytes(20);
      header.writeUInt16BE(rng.pick(ETHERTYPES), 0);
      return Buffer.concat([header, body]);
    }
    default:
      return body;
  }
}

/** Start of the network header tcpdump reads for an untagged frame of `linkType`. */
const NETWORK_OFFSET: Record<number, number> = {
  [LinkType.ETHERNET]: 14,
  [LinkType.NULL]: 4,
  [LinkType.LINUX_SLL2]: 20,
  [LinkType.RAW]: 0,
};

/** Expressions whose values are the bytes where libpcap would load them. */
function expressionsFrom(frames: readonly Buffer[], linkType: number, rng: Prng): string[] {
  const at = NETWORK_OFFSET[linkType] ?? 0;
  const out = new Set<string>(["tcp", "udp", "sctp", "ip6 proto 0", "ip6 proto 43", "icmp6"]);
  if (linkType === LinkType.ETHERNET) out.add("vlan").add("vlan 1").add("vlan and vlan").add("arp");
  for (let i = 0; i < 10; i++) {
    const f = rng.pick(frames);
    if (f.length >= at + 20) out.add(`host ${ip4Text(f.readUInt32BE(at + rng.pick([12, 16])))}`);
    if (f.length >= at + 28 && linkType === LinkType.ETHERNET)
      out.add(`host ${ip4Text(f.readUInt32BE(at + 24))}`);
    if (f.length >= at + 24)
      out.add(`ip6 net ${ip6Text(Buffer.concat([f.subarray(at + 8, at + 12), Buffer.alloc(12)]))}/32`);
    if (f.length >= at + 40) out.add(`ip6 host ${ip6Text(f, at + 24)}`);
    const ihl = ((f[at] ?? 0) & 0x0f) * 4;
    if (f.length >= at + ihl + 4) out.add(`port ${f.readUInt16BE(at + ihl + rng.pick([0, 2]))}`);
    if (f.length >= at + 44) out.add(`ip6 and port ${f.readUInt16BE(at + 40)}`);
    if (f.length > at + 9) out.add(`ip proto ${f[at + 9]}`);
  }
  return [...out];
}

describe.each([
  ["ethernet", LinkType.ETHERNET],
  ["null", LinkType.NULL],
  ["sll2", LinkType.LINUX_SLL2],
  ["raw", LinkType.RAW],
])("random %s frames: candidates ⊇ tcpdump", (name, linkType) => {
  const rng = new Prng(1000 + linkType);
  const frames = Array.from({ length: 1200 }, () => randomFrame(rng, linkType));
  const path = join(dir, `${name}.pcap`);
  writeFileSync(path, classicFixture(sequential(frames), { variant: "nsec-le", linkType }));
  const ready = Promise.all([readRecords(path), buildIndex(path)]);

  it.each(expressionsFrom(frames, linkType, rng))("%s", async (expression) => {
    const [records, index] = await ready;
    const answer = index.candidates(planFilter(expression));
    const matches = await tcpdumpOffsets(path, expression, records);
    if (answer.kind === "all") return;
    const listed = new Set(answer.offsets);
    expect(matches.filter((offset) => !listed.has(offset))).toEqual([]);
  });
});
