import { describe, expect, it } from "vitest";
import { buildDnsQuery } from "../synth/dns.js";
import { buildHttpRequest } from "../synth/http.js";
import { buildArp, buildIpv4, buildIpv6, fragmentIpv4 } from "../synth/ip.js";
import { buildEthernet, encapsulate } from "../synth/link.js";
import { buildTlsClientHello } from "../synth/tls.js";
import { buildIcmpEcho, buildTcp, buildUdp } from "../synth/transport.js";
import { emptyRecord, LinkType } from "../types.js";
import { decodeFrame, decodePacket } from "./decode-packet.js";
import { createDecodedPacket, type DecodedPacket } from "./decoded-packet.js";
import { formatIp, formatIpv4, formatIpv6 } from "./format.js";
import { DnsType, EtherType, IpProto, TcpFlags } from "./protocols.js";

const C = "10.0.0.2";
const S = "192.0.2.7";

function tcpFrame(
  payload: Buffer,
  dstPort: number,
  extra: { flags?: number; vlans?: { id: number }[] } = {},
): Buffer {
  const tcp = buildTcp({
    src: C,
    dst: S,
    srcPort: 40000,
    dstPort,
    seq: 10,
    ack: 20,
    flags: extra.flags ?? 0x18,
    payload,
  });
  return buildEthernet({
    payload: buildIpv4({ src: C, dst: S, protocol: IpProto.TCP, payload: tcp }),
    ...(extra.vlans ? { vlans: extra.vlans } : {}),
  });
}

function decode(frame: Buffer, caplen = frame.length, linkType: number = LinkType.ETHERNET): DecodedPacket {
  return decodeFrame(frame, 0, caplen, frame.length, linkType, createDecodedPacket());
}

describe("decodePacket", () => {
  it("reads a record at its offset inside a larger (reader chunk) buffer", () => {
    const frame = tcpFrame(buildTlsClientHello({ sni: "chunk.example.com" }), 443);
    const chunk = Buffer.concat([Buffer.alloc(100, 0xee), frame, Buffer.alloc(50, 0xee)]);
    const rec = emptyRecord();
    Object.assign(rec, {
      buf: chunk,
      dataOffset: 100,
      caplen: frame.length,
      origLen: frame.length,
      linkType: LinkType.ETHERNET,
    });
    const d = decodePacket(rec, createDecodedPacket());
    expect(d.protocolPath).toBe("eth:ip:tcp:tls");
    expect(d.tlsSni).toBe("chunk.example.com");
    expect(d.srcOffset).toBe(100 + 14 + 12);
    expect(formatIp(d, "dst")).toBe(S);
    expect([d.srcPort, d.dstPort, d.tcpSeq, d.tcpAck, d.tcpFlags]).toEqual([40000, 443, 10, 20, 0x18]);
  });

  it("resets every field between packets of the reused result", () => {
    const d = createDecodedPacket();
    const hello = tcpFrame(buildTlsClientHello({ sni: "a.example" }), 443, { vlans: [{ id: 5 }] });
    decodeFrame(hello, 0, hello.length, hello.length, LinkType.ETHERNET, d);
    const arp = buildEthernet({
      etherType: EtherType.ARP,
      payload: buildArp({ op: "request", senderMac: "02:00:00:00:00:01", senderIp: C, targetIp: S }),
    });
    decodeFrame(arp, 0, arp.length, arp.length, LinkType.ETHERNET, d);
    expect(d).toMatchObject({
      l3: "arp",
      arpOp: 1,
      tlsSni: null,
      srcPort: -1,
      tcpFlags: -1,
      vlanCount: 0,
      vlanIds: [-1, -1],
      app: "none",
      protocolPath: "eth:arp",
    });
    expect([formatIp(d, "src"), formatIp(d, "dst")]).toEqual([C, S]);
  });

  it("unwraps QinQ and reports both tag ids", () => {
    const frame = tcpFrame(Buffer.alloc(0), 22, {
      vlans: [{ id: 1000 }, { id: 42 }],
      flags: TcpFlags.SYN | TcpFlags.ECE | TcpFlags.CWR,
    });
    const d = decode(frame);
    expect([d.vlanCount, d.vlanIds, d.etherType]).toEqual([2, [1000, 42], EtherType.IPV4]);
    expect(d.protocolPath).toBe("eth:vlan:vlan:ip:tcp");
    expect(d.tcpFlags).toBe(0xc2);
  });

  it("walks IPv6 extension headers to the transport protocol", () => {
    const udp = buildUdp({
      src: "fd00::1",
      dst: "fd00::2",
      srcPort: 5000,
      dstPort: 53,
      payload: buildDnsQuery({ id: 1, name: "v6.example", type: DnsType.AAAA }),
    });
    const ip = buildIpv6({
      src: "fd00::1",
      dst: "fd00::2",
      nextHeader: IpProto.UDP,
      payload: udp,
      extensions: [
        { type: "hop-by-hop" },
        { type: "routing", addresses: ["fd00::2"] },
        { type: "destination" },
      ],
    });
    const d = decode(buildEthernet({ payload: ip }));
    expect([d.l3, d.ipProto, d.srcPort, d.dstPort, d.dnsName, d.dnsType, d.ttl]).toEqual([
      "ipv6",
      IpProto.UDP,
      5000,
      53,
      "v6.example",
      28,
      64,
    ]);
    expect(formatIp(d, "src")).toBe("fd00::1");
    expect(d.protocolPath).toBe("eth:ipv6:udp:dns");
  });

  it("reports fragments and decodes no transport in later ones", () => {
    const udp = buildUdp({ src: C, dst: S, srcPort: 1, dstPort: 514, payload: Buffer.alloc(3000, 0x61) });
    const [first, second] = fragmentIpv4(
      buildIpv4({ src: C, dst: S, protocol: IpProto.UDP, id: 9, payload: udp }),
      1500,
    );
    const a = decode(buildEthernet({ payload: first as Buffer }));
    expect([a.isFragment, a.fragOffset, a.moreFragments, a.srcPort, a.protocolPath]).toEqual([
      true,
      0,
      true,
      1,
      "eth:ip:udp:data",
    ]);
    const b = decode(buildEthernet({ payload: second as Buffer }));
    expect([b.isFragment, b.fragOffset, b.moreFragments, b.srcPort, b.ipProto, b.protocolPath]).toEqual([
      true,
      1480,
      true,
      -1,
      17,
      "eth:ip",
    ]);
  });

  it("excludes the Ethernet padding from the payload", () => {
    const udp = buildUdp({ src: C, dst: S, srcPort: 7, dstPort: 9, payload: Buffer.from("hi") });
    const frame = buildEthernet({
      payload: buildIpv4({ src: C, dst: S, protocol: IpProto.UDP, payload: udp }),
      pad: true,
    });
    expect(frame.length).toBe(60);
    const d = decode(frame);
    expect([d.payloadLength, d.payloadWireLength, d.truncated]).toEqual([2, 2, false]);
  });

  it("reads DNS over TCP after the length prefix", () => {
    const q = buildDnsQuery({ id: 3, name: "tcp.example.org", type: DnsType.A });
    const d = decode(tcpFrame(Buffer.concat([Buffer.from([0, q.length]), q]), 53));
    expect([d.app, d.dnsName, d.dnsType, d.dnsId, d.dnsResponse]).toEqual([
      "dns",
      "tcp.example.org",
      1,
      3,
      false,
    ]);
  });

  it("survives DNS compression loops", () => {
    const msg = Buffer.from("000101000001000000000000c00c00010001", "hex"); // name points at itself
    const udp = buildUdp({ src: C, dst: S, srcPort: 5353, dstPort: 53, payload: msg });
    const d = decode(
      buildEthernet({ payload: buildIpv4({ src: C, dst: S, protocol: IpProto.UDP, payload: udp }) }),
    );
    expect([d.dnsName, d.malformed]).toEqual([null, true]);
  });

  it("finds the SNI only when the whole name was captured", () => {
    const frame = tcpFrame(buildTlsClientHello({ sni: "cut.example.com" }), 443);
    const sniEnd = frame.indexOf("cut.example.com") + "cut.example.com".length;
    expect(decode(frame, sniEnd).tlsSni).toBe("cut.example.com");
    const cut = decode(frame, sniEnd - 1);
    expect([cut.tlsSni, cut.truncated, cut.app, cut.srcPort]).toEqual([null, true, "tls", 40000]);
  });

  it("handles a ClientHello continued in a later segment without calling the packet truncated", () => {
    const hello = buildTlsClientHello({ sni: "later.example.com" });
    const d = decode(tcpFrame(hello.subarray(0, 60), 443));
    expect([d.tlsSni, d.truncated, d.malformed, d.app]).toEqual([null, false, false, "tls"]);
  });

  it("reads the HTTP method and Host header in any case, trimmed", () => {
    const req = Buffer.from(
      "PUT /x HTTP/1.1\r\nAccept: */*\r\nhOsT: \t files.example.com  \r\n\r\n",
      "latin1",
    );
    const d = decode(tcpFrame(req, 8000));
    expect([d.app, d.httpMethod, d.httpHost, d.protocolPath]).toEqual([
      "http",
      "PUT",
      "files.example.com",
      "eth:ip:tcp:http",
    ]);
    const partial = decode(tcpFrame(buildHttpRequest({ host: "whole.example.com" }).subarray(0, 30), 80));
    expect([partial.httpMethod, partial.httpHost]).toEqual(["GET", null]);
    const response = decode(tcpFrame(Buffer.from("HTTP/1.1 200 OK\r\n\r\n"), 1234));
    expect([response.app, response.httpMethod]).toEqual(["http", null]);
  });

  it("reads ICMP type and code", () => {
    const d = decode(
      buildEthernet({
        payload: buildIpv4({
          src: C,
          dst: S,
          protocol: IpProto.ICMP,
          payload: buildIcmpEcho({ id: 1, seq: 2, reply: true }),
        }),
      }),
    );
    expect([d.icmpType, d.icmpCode, d.protocolPath, d.payloadLength]).toEqual([0, 0, "eth:ip:icmp", 56]);
  });

  it("trusts the capture when a TSO packet has IP total length 0", () => {
    const frame = tcpFrame(Buffer.alloc(3000, 1), 5001);
    frame.writeUInt16BE(0, 14 + 2);
    const d = decode(frame);
    expect([d.truncated, d.malformed, d.payloadLength]).toEqual([false, false, 3000]);
  });

  it("names the path of each link type", () => {
    const ip = buildIpv4({
      src: C,
      dst: S,
      protocol: IpProto.ICMP,
      payload: buildIcmpEcho({ id: 1, seq: 1 }),
    });
    const paths = [
      LinkType.NULL,
      LinkType.LOOP,
      LinkType.RAW,
      LinkType.IPV4,
      LinkType.LINUX_SLL,
      LinkType.LINUX_SLL2,
    ].map((lt) => decode(encapsulate(lt, ip), undefined, lt).protocolPath);
    expect(paths).toEqual([
      "null:ip:icmp",
      "loop:ip:icmp",
      "raw:ip:icmp",
      "raw:ip:icmp",
      "sll:ip:icmp",
      "sll2:ip:icmp",
    ]);
    expect(decode(Buffer.from([1, 2, 3]), 3, 9999)).toMatchObject({
      link: "unknown",
      protocolPath: "",
      l3: "none",
    });
  });

  it("marks truncation in link and network headers", () => {
    const frame = tcpFrame(Buffer.alloc(0), 80);
    for (const caplen of [0, 10, 13, 20, 33, 40, 53]) {
      const d = decode(frame, caplen);
      expect(d.truncated, String(caplen)).toBe(true);
    }
  });
});

describe("formatters", () => {
  it("writes IPv6 addresses as RFC 5952 says (and tshark prints them)", () => {
    const f = (s: string): string =>
      formatIpv6(buildIpv6({ src: s, dst: "::", nextHeader: 59, payload: Buffer.alloc(0) }), 8);
    expect(f("2001:0db8:0000:0000:0000:0000:0000:0001")).toBe("2001:db8::1");
    expect(f("::")).toBe("::");
    expect(f("::1")).toBe("::1");
    expect(f("fe80::")).toBe("fe80::");
    expect(f("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1");
    expect(f("2001:0:0:1:0:0:0:1")).toBe("2001:0:0:1::1");
    expect(f("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(f("::ffff:192.0.2.1")).toBe("::ffff:192.0.2.1");
  });

  it("writes IPv4 addresses from their integer form", () => {
    expect(formatIpv4(0xc0000201)).toBe("192.0.2.1");
    expect(formatIpv4(0xffffffff)).toBe("255.255.255.255");
  });
});

describe("measureDecoder", () => {
  it("decodes generated packets and finds their application fields", async () => {
    const { measureDecoder } = await import("./throughput.js");
    const r = measureDecoder(2000, 1);
    expect(r.decodes).toBe(2000);
    expect(r.nsPerPacket).toBeGreaterThan(0);
    expect(r.sni + r.dns + r.host).toBeGreaterThan(0);
  });
});
