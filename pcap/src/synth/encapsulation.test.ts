import { afterAll, describe, expect, it } from "vitest";
import { createDecodedPacket, decodeFrame, formatIp } from "../decode/index.js";
import { BsdAf, EtherType, IpProto, TcpFlags } from "../decode/protocols.js";
import { LinkType } from "../types.js";
import { buildDnsQuery } from "./dns.js";
import { buildArp, buildIpv4, buildIpv6 } from "./ip.js";
import { encapsulate, linkCarries } from "./link.js";
import { CHECKSUM_PREFS, removeTempPcaps, tsharkFields, writeTempPcap } from "./test-support.js";
import { buildTcp, buildUdp } from "./transport.js";

afterAll(removeTempPcaps);

const tcp4 = buildIpv4({
  src: "10.9.8.7",
  dst: "198.51.100.1",
  protocol: IpProto.TCP,
  payload: buildTcp({
    src: "10.9.8.7",
    dst: "198.51.100.1",
    srcPort: 1234,
    dstPort: 443,
    flags: TcpFlags.SYN,
  }),
});
const udp6 = buildIpv6({
  src: "fd00::7",
  dst: "2001:db8::1",
  nextHeader: IpProto.UDP,
  payload: buildUdp({
    src: "fd00::7",
    dst: "2001:db8::1",
    srcPort: 5555,
    dstPort: 53,
    payload: buildDnsQuery({ id: 1, name: "example.net" }),
  }),
});
const arp = buildArp({
  op: "reply",
  senderMac: "02:00:00:00:00:01",
  senderIp: "10.9.8.1",
  targetMac: "02:00:00:00:00:02",
  targetIp: "10.9.8.7",
});

const FIELDS = [
  "ip.src",
  "ip.dst",
  "ipv6.src",
  "ipv6.dst",
  "arp.src.proto_ipv4",
  "tcp.checksum.status",
  "udp.checksum.status",
  "_ws.malformed",
];

describe.each(Object.entries(LinkType))("link type %s", (name, linkType) => {
  const packets: Array<{ l3: Buffer; etherType: number; src: string; dst: string }> = [
    { l3: tcp4, etherType: EtherType.IPV4, src: "10.9.8.7", dst: "198.51.100.1" },
    { l3: udp6, etherType: EtherType.IPV6, src: "fd00::7", dst: "2001:db8::1" },
    { l3: arp, etherType: EtherType.ARP, src: "10.9.8.1", dst: "10.9.8.7" },
  ].filter((p) => linkCarries(linkType, p.etherType));
  const frames = packets.map((p) =>
    encapsulate(linkType, p.l3, { etherType: p.etherType, bsdInet6: BsdAf.INET6_DARWIN }),
  );
  const rows = tsharkFields(writeTempPcap(linkType, frames), FIELDS, { prefs: CHECKSUM_PREFS });

  it(`tshark reads ${name} frames with the right addresses and good checksums`, () => {
    expect(rows).toHaveLength(packets.length);
    packets.forEach((p, i) => {
      const row = rows[i] ?? [];
      const [ip4src, ip4dst, ip6src, ip6dst, arpSrc, tcpOk, udpOk, malformed] = row;
      if (p.etherType === EtherType.ARP) expect(arpSrc).toBe(p.src);
      else {
        expect(ip4src || ip6src).toBe(p.src);
        expect(ip4dst || ip6dst).toBe(p.dst);
      }
      expect([tcpOk, udpOk].filter((s) => s !== "")).toEqual(p.etherType === EtherType.ARP ? [] : ["1"]);
      expect(malformed).toBe("");
    });
  });

  it(`the decoder reads ${name} frames the same way`, () => {
    const d = createDecodedPacket();
    packets.forEach((p, i) => {
      const frame = frames[i] as Buffer;
      decodeFrame(frame, 0, frame.length, frame.length, linkType, d);
      expect(d.truncated || d.malformed).toBe(false);
      expect(formatIp(d, "src")).toBe(p.src);
      expect(formatIp(d, "dst")).toBe(p.dst);
      expect(d.protocolPath.split(":").slice(-1)[0]).toBe(
        p.etherType === EtherType.ARP ? "arp" : p.etherType === EtherType.IPV4 ? "tcp" : "dns",
      );
    });
  });
});

describe("NULL link type in the other byte order", () => {
  it("is read by tshark and the decoder alike", () => {
    const frame = Buffer.concat([Buffer.from([0, 0, 0, BsdAf.INET]), tcp4]);
    const rows = tsharkFields(writeTempPcap(LinkType.NULL, [frame]), ["ip.src"]);
    expect(rows[0]?.[0]).toBe("10.9.8.7");
    const d = decodeFrame(frame, 0, frame.length, frame.length, LinkType.NULL, createDecodedPacket());
    expect(formatIp(d, "src")).toBe("10.9.8.7");
  });
});
