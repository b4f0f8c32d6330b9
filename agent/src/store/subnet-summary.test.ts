import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LinkType } from "@pcapfleet/pcap";
import { afterAll, describe, expect, it } from "vitest";
import { formatIpv6, PrefixTable } from "./prefix-table.js";
import {
  addRows,
  feed,
  packets,
  type SummaryTotals,
  tsharkTotals,
  writeCapture,
} from "./ring.test-support.js";
import { SubnetSummarizer } from "./subnet-summary.js";

const dir = mkdtempSync(join(tmpdir(), "pcapfleet-summary-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function summarise(path: string, summarizer: SubnetSummarizer): Promise<SummaryTotals> {
  await feed(path, summarizer);
  return addRows(new Map(), summarizer.take(Number.POSITIVE_INFINITY));
}

describe("subnet summaries", () => {
  const links: [string, number][] = [
    ["Ethernet with VLAN/QinQ", LinkType.ETHERNET],
    ["Linux SLL", LinkType.LINUX_SLL],
    ["Linux SLL2", LinkType.LINUX_SLL2],
    ["raw IP", LinkType.RAW],
    ["null", LinkType.NULL],
    ["loop", LinkType.LOOP],
    ["IPv4", LinkType.IPV4],
    ["IPv6", LinkType.IPV6],
  ];
  for (const [name, linkType] of links) {
    it(`matches tshark per minute, prefix and direction: ${name}`, async () => {
      // 2400 packets at 12 pps: about 3.3 minutes, so minute boundaries are crossed.
      const list = packets({
        seed: 7 + linkType,
        linkType,
        packets: 2400,
        ratePps: 12,
        vlanShare: 0.5,
        ipv6Share: 0.3,
      });
      const path = join(dir, `link-${linkType}.pcap`);
      await writeCapture(path, linkType, list);
      const ours = await summarise(path, new SubnetSummarizer(24, 64));
      const reference = await tsharkTotals([path]);
      expect(reference.size).toBeGreaterThan(8);
      expect(new Map([...ours].sort())).toEqual(new Map([...reference].sort()));
    });
  }

  it("uses the configured prefix lengths", async () => {
    const list = packets({ seed: 3, packets: 500, ipv6Share: 0.5 });
    const path = join(dir, "prefixes.pcap");
    await writeCapture(path, LinkType.ETHERNET, list);
    const ours = await summarise(path, new SubnetSummarizer(16, 48));
    const prefixes = [...ours.keys()].map((k) => k.split(" ")[2] as string);
    expect(prefixes.some((p) => p.endsWith(".0.0/16"))).toBe(true);
    expect(prefixes.some((p) => p.endsWith("::/48"))).toBe(true);
    expect(prefixes.every((p) => p.endsWith("/16") || p.endsWith("/48"))).toBe(true);
  });

  it("emits only minutes before the limit, once", async () => {
    const list = packets({ seed: 5, packets: 600, ratePps: 5 });
    const path = join(dir, "limit.pcap");
    await writeCapture(path, LinkType.ETHERNET, list);
    const summarizer = new SubnetSummarizer(24, 64);
    await feed(path, summarizer);
    const firstMinute = Math.floor((list[0] as { tsSec: number }).tsSec / 60);
    const early = summarizer.take(firstMinute + 1);
    expect(new Set(early.map((r) => r.minuteStartNs))).toEqual(
      new Set([BigInt(firstMinute * 60) * 1_000_000_000n]),
    );
    expect(summarizer.take(firstMinute + 1)).toEqual([]);
    expect(summarizer.pendingMinutes).toBeGreaterThan(0);
  });

  it("formats prefixes as RFC 5952 text", () => {
    expect(formatIpv6([0x2001, 0xdb8, 0, 1, 0, 0, 0, 0])).toBe("2001:db8:0:1::");
    expect(formatIpv6([0, 0, 0, 0, 0, 0, 0, 0])).toBe("::");
    expect(formatIpv6([0xfe80, 0, 0, 0, 1, 2, 3, 4])).toBe("fe80::1:2:3:4");
    expect(formatIpv6([1, 0, 2, 3, 4, 5, 6, 7])).toBe("1:0:2:3:4:5:6:7");
    const table = new PrefixTable(24, 64);
    expect(table.format(table.idV4(0xc0000201))).toBe("192.0.2.0/24");
    const v6 = Buffer.from("20010db8000000070000000000000001", "hex");
    expect(table.format(table.idV6(v6, 0))).toBe("2001:db8:0:7::/64");
    expect(table.idV6(v6, 0)).toBe(table.idV6(Buffer.from("20010db80000000712345678abcdef01", "hex"), 0));
  });
});
