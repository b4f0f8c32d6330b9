import { afterAll, describe, expect, it } from "vitest";
import { createDecodedPacket, decodeFrame } from "../decode/index.js";
import { DnsType, IpProto } from "../decode/protocols.js";
import { LinkType } from "../types.js";
import { buildDnsResponse } from "./dns.js";
import { buildIpv4, buildIpv6, fragmentIpv4, fragmentIpv6 } from "./ip.js";
import { buildEthernet } from "./link.js";
import { CHECKSUM_PREFS, removeTempPcaps, tsharkFields, writeTempPcap } from "./test-support.js";
import { buildUdp } from "./transport.js";

afterAll(removeTempPcaps);

/** A DNS answer big enough to need several fragments (200 AAAA records). */
function bigDns(src: string, dst: string): Buffer {
  const answers = Array.from({ length: 200 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);
  const dns = buildDnsResponse({ id: 77, name: "big.example.com", type: DnsType.AAAA, answers });
  return buildUdp({ src, dst, srcPort: 53, dstPort: 40000, payload: dns });
}

describe("IPv4 fragmentation", () => {
  const udp = bigDns("10.0.0.53", "10.0.0.9");
  // Router alert (copied to every fragment) and a record-route option (first fragment only).
  const options = Buffer.from([0x94, 4, 0, 0, 0x07, 7, 4, 0, 0, 0, 0]);
  const packet = buildIpv4({
    src: "10.0.0.53",
    dst: "10.0.0.9",
    protocol: IpProto.UDP,
    id: 4242,
    payload: udp,
    options,
  });
  const fragments = fragmentIpv4(packet, 1500);
  const frames = fragments.map((f) => buildEthernet({ payload: f }));

  it("splits on 8-byte boundaries within the MTU, MF on all but the last", () => {
    expect(fragments.length).toBeGreaterThan(3);
    const d = createDecodedPacket();
    let expectedOffset = 0;
    fragments.forEach((f, i) => {
      expect(f.length).toBeLessThanOrEqual(1500);
      decodeFrame(
        frames[i] as Buffer,
        0,
        (frames[i] as Buffer).length,
        (frames[i] as Buffer).length,
        LinkType.ETHERNET,
        d,
      );
      expect(d.isFragment).toBe(true);
      expect(d.fragId).toBe(4242);
      expect(d.fragOffset).toBe(expectedOffset);
      expect(d.moreFragments).toBe(i < fragments.length - 1);
      expect(d.srcPort).toBe(i === 0 ? 53 : -1);
      expect(d.truncated || d.malformed).toBe(false);
      expectedOffset += d.payloadLength + (i === 0 ? 8 : 0);
    });
    expect(expectedOffset).toBe(udp.length);
  });

  it("reassembles in tshark into the original datagram with a good UDP checksum", () => {
    const rows = tsharkFields(
      writeTempPcap(LinkType.ETHERNET, frames),
      [
        "ip.opt.type",
        "ip.reassembled.length",
        "udp.checksum.status",
        "dns.qry.name",
        "dns.count.answers",
        "ip.checksum.status",
      ],
      { prefs: CHECKSUM_PREFS },
    );
    expect(rows).toHaveLength(fragments.length);
    // Options are padded with End-of-Options (type 0) to a multiple of 4 bytes.
    expect(rows[0]?.[0]).toBe("148,7,0");
    for (const row of rows.slice(1)) expect(row[0]).toBe("148");
    for (const row of rows) expect(row[5]).toBe("1");
    const last = rows[rows.length - 1] ?? [];
    expect(last.slice(1, 5)).toEqual([String(udp.length), "1", "big.example.com", "200"]);
  });
});

describe("IPv6 fragmentation", () => {
  const src = "fd00::53";
  const dst = "fd00::9";
  const udp = bigDns(src, dst);
  const packet = buildIpv6({
    src,
    dst,
    nextHeader: IpProto.UDP,
    payload: udp,
    extensions: [{ type: "hop-by-hop" }, { type: "destination" }],
  });
  const fragments = fragmentIpv6(packet, 1280, 0xabcdef);
  const frames = fragments.map((f) => buildEthernet({ payload: f }));

  it("repeats the hop-by-hop header and fragments the rest", () => {
    const d = createDecodedPacket();
    fragments.forEach((f, i) => {
      expect(f.length).toBeLessThanOrEqual(1280);
      decodeFrame(
        frames[i] as Buffer,
        0,
        (frames[i] as Buffer).length,
        (frames[i] as Buffer).length,
        LinkType.ETHERNET,
        d,
      );
      expect(d.isFragment).toBe(true);
      expect(d.fragId).toBe(0xabcdef);
      expect(d.moreFragments).toBe(i < fragments.length - 1);
      // The first fragment continues with destination options, then UDP; later ones stop at the fragment.
      expect(d.ipProto).toBe(i === 0 ? IpProto.UDP : IpProto.DSTOPTS);
    });
  });

  it("reassembles in tshark", () => {
    const rows = tsharkFields(
      writeTempPcap(LinkType.ETHERNET, frames),
      ["ipv6.hopopts.nxt", "ipv6.reassembled.length", "udp.checksum.status", "dns.qry.name"],
      { prefs: CHECKSUM_PREFS },
    );
    for (const row of rows) expect(row[0]).toBe(String(IpProto.FRAGMENT));
    const last = rows[rows.length - 1] ?? [];
    expect(last.slice(1)).toEqual([String(udp.length + 8), "1", "big.example.com"]);
  });
});
