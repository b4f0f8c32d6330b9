import { createHash } from "node:crypto";
import { AppError } from "@pcapfleet/core/errors";
import { afterAll, describe, expect, it } from "vitest";
import { createDecodedPacket, decodeFrame } from "../decode/index.js";
import { IpProto, TcpFlags } from "../decode/protocols.js";
import { LinkType } from "../types.js";
import { createNetwork } from "./network.js";
import { CHECKSUM_PREFS, removeTempPcaps, tsharkFields, writeTempPcap } from "./test-support.js";
import { type GeneratedPacket, generateTraffic, type TrafficOptions } from "./traffic.js";

afterAll(removeTempPcaps);

function digest(options: Partial<TrafficOptions>): string {
  const h = createHash("sha256");
  for (const p of generateTraffic(options)) {
    h.update(`${p.tsSec}.${p.tsNsec}/${p.origLen}:`);
    h.update(p.data);
  }
  return h.digest("hex");
}

describe("generateTraffic", () => {
  it("is deterministic for a seed and differs across seeds", () => {
    const a = digest({ seed: 42, packets: 3000 });
    expect(digest({ seed: 42, packets: 3000 })).toBe(a);
    expect(digest({ seed: 43, packets: 3000 })).not.toBe(a);
  });

  it("starts at the start time and advances at the requested rate", () => {
    const start = { sec: 1_700_000_000, nsec: 999_999_000 };
    const packets = [...generateTraffic({ seed: 1, start, packets: 20_000, ratePps: 5000 })];
    expect(packets).toHaveLength(20_000);
    expect([packets[0]?.tsSec, packets[0]?.tsNsec]).toEqual([start.sec, start.nsec]);
    let prev = packets[0] as GeneratedPacket;
    for (const p of packets) {
      expect(p.tsNsec).toBeGreaterThanOrEqual(0);
      expect(p.tsNsec).toBeLessThan(1e9);
      expect(p.tsSec * 1e9 + p.tsNsec).toBeGreaterThanOrEqual(prev.tsSec * 1e9 + prev.tsNsec);
      prev = p;
    }
    const spanS = prev.tsSec - start.sec + (prev.tsNsec - start.nsec) / 1e9;
    expect(spanS).toBeGreaterThan(4 * 0.97);
    expect(spanS).toBeLessThan(4 * 1.03);
  });

  it("stops at durationS", () => {
    const start = { sec: 1_000, nsec: 500_000_000 };
    const packets = [...generateTraffic({ seed: 2, start, durationS: 2, ratePps: 1000 })];
    expect(packets.length).toBeGreaterThan(1900);
    expect(packets.length).toBeLessThan(2100);
    const last = packets[packets.length - 1] as GeneratedPacket;
    expect(last.tsSec * 1e9 + last.tsNsec).toBeLessThan(1002.5e9);
  });

  it("cuts packets at snaplen and keeps the original length", () => {
    let cut = 0;
    for (const p of generateTraffic({ seed: 3, packets: 2000, snaplen: 96 })) {
      expect(p.data.length).toBeLessThanOrEqual(96);
      expect(p.origLen).toBeGreaterThanOrEqual(p.data.length);
      if (p.origLen > 96) cut++;
    }
    expect(cut).toBeGreaterThan(500);
  });

  it("rejects bad options with an InvalidArgument error naming the option", () => {
    expect(() => generateTraffic({ ratePps: 0 }).next()).toThrow(AppError);
    expect(() => generateTraffic({ vlanShare: 2 }).next()).toThrow(/vlanShare/);
    expect(() => generateTraffic({ linkType: 999 }).next()).toThrow(/linkType/);
    expect(() => generateTraffic({ start: { sec: 1, nsec: 1e9 } }).next()).toThrow(/start/);
  });

  it("mixes the traffic a network carries", () => {
    const d = createDecodedPacket();
    const seen = new Map<string, number>();
    const bump = (k: string): void => {
      seen.set(k, (seen.get(k) ?? 0) + 1);
    };
    let total = 0;
    for (const p of generateTraffic({ seed: 9, packets: 30_000, vlanShare: 0.2, ipv6Share: 0.3 })) {
      decodeFrame(p.data, 0, p.data.length, p.origLen, LinkType.ETHERNET, d);
      total++;
      expect(d.truncated || d.malformed).toBe(false);
      bump(d.l3);
      if (d.tlsSni !== null) bump("sni");
      if (d.dnsName !== null) bump("dns");
      if (d.httpHost !== null) bump("host");
      if (d.vlanCount === 1) bump("vlan");
      if (d.vlanCount === 2) bump("qinq");
      if (d.l3 === "ipv4" && d.isFragment) bump("frag4");
      if (d.ipProto === IpProto.ICMP) bump("icmp");
      if (d.ipProto === IpProto.ICMPV6) bump(d.icmpType === 135 ? "ns" : "icmpv6");
      if (d.tcpFlags === TcpFlags.SYN) bump("syn");
      if (d.tcpFlags >= 0 && (d.tcpFlags & TcpFlags.FIN) !== 0) bump("fin");
      if (d.app === "ssh" || d.app === "mysql") bump(d.app);
    }
    for (const k of [
      "sni",
      "dns",
      "host",
      "vlan",
      "qinq",
      "frag4",
      "icmp",
      "icmpv6",
      "ns",
      "arp",
      "syn",
      "fin",
      "ssh",
      "mysql",
    ]) {
      expect(seen.get(k) ?? 0, k).toBeGreaterThan(0);
    }
    const v6 = (seen.get("ipv6") ?? 0) / total;
    expect(v6).toBeGreaterThan(0.1);
    expect(v6).toBeLessThan(0.6);
    expect((seen.get("vlan") ?? 0) + (seen.get("qinq") ?? 0)).toBeGreaterThan(total * 0.05);
  });

  it.each([
    ["IPV4", LinkType.IPV4, (l3: string) => l3 === "ipv4"],
    ["IPV6", LinkType.IPV6, (l3: string) => l3 === "ipv6"],
    ["NULL", LinkType.NULL, (l3: string) => l3 === "ipv4" || l3 === "ipv6"],
    ["LINUX_SLL2", LinkType.LINUX_SLL2, (l3: string) => l3 !== "other" && l3 !== "none"],
  ])("keeps to what link type %s can carry", (_name, linkType, ok) => {
    const d = createDecodedPacket();
    for (const p of generateTraffic({ seed: 4, packets: 3000, linkType })) {
      decodeFrame(p.data, 0, p.data.length, p.origLen, linkType, d);
      expect(ok(d.l3), d.l3).toBe(true);
      expect(d.vlanCount).toBe(0);
    }
  });

  it("writes packets tshark finds well-formed with good checksums", () => {
    const packets = [...generateTraffic({ seed: 5, packets: 3000, vlanShare: 0.3, ipv6Share: 0.4 })];
    const fields = [
      "ip.checksum.status",
      "tcp.checksum.status",
      "udp.checksum.status",
      "icmp.checksum.status",
      "icmpv6.checksum.status",
      "_ws.malformed",
      "_ws.expert.severity",
    ];
    const rows = tsharkFields(writeTempPcap(LinkType.ETHERNET, packets), fields, { prefs: CHECKSUM_PREFS });
    expect(rows).toHaveLength(3000);
    for (const row of rows) {
      for (const status of row
        .slice(0, 5)
        .flatMap((c) => c.split(","))
        .filter((s) => s !== ""))
        expect(status).toBe("1");
      expect(row[5]).toBe("");
      // Severity 8388608 is "error"; chats and notes (connection setup/teardown) and RST warnings are fine.
      expect(row[6]?.split(",") ?? []).not.toContain("8388608");
    }
  });
});

describe("createNetwork", () => {
  it("places hosts in the requested subnets, derived from the seed", () => {
    const net = createNetwork({ seed: 7, hosts: 10, subnets: 3 });
    expect(net.subnets.map((s) => s.ipv4Cidr)).toEqual(["10.8.0.0/24", "10.8.1.0/24", "10.8.2.0/24"]);
    expect(net.subnets.map((s) => s.ipv6Cidr)).toEqual([
      "fd00:8:0:0::/64",
      "fd00:8:0:1::/64",
      "fd00:8:0:2::/64",
    ]);
    expect(net.hosts).toHaveLength(10);
    for (const h of net.hosts) expect([h.ipv4[0], h.ipv4[1], h.ipv4[2]]).toEqual([10, 8, h.subnet]);
  });
});

describe("measureGenerator", () => {
  it("reports the bytes it generated and a rate", async () => {
    const { measureGenerator } = await import("./throughput.js");
    const r = measureGenerator(2_000_000);
    expect(r.bytes).toBeGreaterThanOrEqual(2_000_000);
    expect(r.packets).toBeGreaterThan(0);
    expect(r.mbPerSecond).toBeGreaterThan(0);
  });
});
