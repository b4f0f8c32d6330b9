import { afterAll, describe, expect, it } from "vitest";
import { createDecodedPacket, decodeFrame, formatIp } from "../decode/index.js";
import { DnsType, EtherType, IpProto, TcpFlags } from "../decode/protocols.js";
import { LinkType } from "../types.js";
import { buildDnsQuery, buildDnsResponse } from "./dns.js";
import { buildHttpRequest } from "./http.js";
import { buildArp, buildIpv4, buildIpv6 } from "./ip.js";
import { buildEthernet } from "./link.js";
import { CHECKSUM_PREFS, removeTempPcaps, tsharkFields, writeTempPcap } from "./test-support.js";
import { buildTlsClientHello } from "./tls.js";
import {
  buildIcmpEcho,
  buildIcmpv6Echo,
  buildIcmpv6NeighborSolicitation,
  buildTcp,
  buildUdp,
  solicitedNodeMulticast,
} from "./transport.js";

afterAll(removeTempPcaps);

const A4 = "10.1.2.3";
const B4 = "192.0.2.10";
const A6 = "fd00:1::10";
const B6 = "2001:db8::20";
const MAC_A = "02:00:00:00:00:0a";
const MAC_B = "02:00:00:00:00:0b";

function eth(payload: Buffer, etherType?: number, vlans?: { id: number }[]): Buffer {
  return buildEthernet({
    src: MAC_A,
    dst: MAC_B,
    payload,
    ...(etherType === undefined ? {} : { etherType }),
    ...(vlans === undefined ? {} : { vlans }),
  });
}

function v4(protocol: number, payload: Buffer, options?: Buffer): Buffer {
  return buildIpv4({ src: A4, dst: B4, protocol, payload, id: 0x1234, ...(options ? { options } : {}) });
}

const hello = buildTlsClientHello({ sni: "www.example.com" });
const cases: Array<{ name: string; frame: Buffer; expect: Record<string, string> }> = [
  {
    name: "IPv4 TCP SYN with options",
    frame: eth(
      v4(
        IpProto.TCP,
        buildTcp({
          src: A4,
          dst: B4,
          srcPort: 40000,
          dstPort: 443,
          seq: 0xdeadbeef,
          flags: TcpFlags.SYN,
          options: [
            { kind: "mss", value: 1460 },
            { kind: "sack-permitted" },
            { kind: "timestamps", value: 1, echo: 0 },
            { kind: "nop" },
            { kind: "wscale", shift: 7 },
          ],
        }),
      ),
    ),
    expect: {
      "ip.src": A4,
      "ip.dst": B4,
      "tcp.srcport": "40000",
      "tcp.dstport": "443",
      "tcp.seq_raw": String(0xdeadbeef),
      "tcp.options.mss_val": "1460",
      "tcp.options.wscale.shift": "7",
    },
  },
  {
    name: "IPv4 TCP ClientHello with SNI",
    frame: eth(
      v4(
        IpProto.TCP,
        buildTcp({
          src: A4,
          dst: B4,
          srcPort: 40001,
          dstPort: 443,
          seq: 1,
          ack: 2,
          flags: 0x18,
          payload: hello,
        }),
      ),
    ),
    expect: {
      "tcp.ack_raw": "2",
      "tls.handshake.extensions_server_name": "www.example.com",
      "tcp.checksum.status": "1",
    },
  },
  {
    name: "IPv6 TCP HTTP request",
    frame: eth(
      buildIpv6({
        src: A6,
        dst: B6,
        nextHeader: IpProto.TCP,
        payload: buildTcp({
          src: A6,
          dst: B6,
          srcPort: 50000,
          dstPort: 80,
          flags: TcpFlags.PSH | TcpFlags.ACK,
          payload: buildHttpRequest({
            method: "POST",
            path: "/submit",
            host: "api.example.com",
            body: Buffer.from("x=1"),
          }),
        }),
      }),
    ),
    expect: { "ipv6.src": A6, "ipv6.dst": B6, "http.host": "api.example.com", "http.request.method": "POST" },
  },
  {
    name: "IPv4 UDP DNS query A",
    frame: eth(
      v4(
        IpProto.UDP,
        buildUdp({
          src: A4,
          dst: B4,
          srcPort: 33333,
          dstPort: 53,
          payload: buildDnsQuery({ id: 7, name: "example.org" }),
        }),
      ),
    ),
    expect: { "dns.qry.name": "example.org", "dns.qry.type": "1", "udp.checksum.status": "1" },
  },
  {
    name: "IPv6 UDP DNS response AAAA",
    frame: eth(
      buildIpv6({
        src: B6,
        dst: A6,
        nextHeader: IpProto.UDP,
        payload: buildUdp({
          src: B6,
          dst: A6,
          srcPort: 53,
          dstPort: 33333,
          payload: buildDnsResponse({ id: 8, name: "cdn.example.net", type: DnsType.AAAA, answers: [B6] }),
        }),
      }),
    ),
    expect: {
      "dns.qry.name": "cdn.example.net",
      "dns.qry.type": "28",
      "dns.aaaa": B6,
      "udp.checksum.status": "1",
    },
  },
  {
    name: "ICMP echo with an IPv4 option",
    frame: eth(v4(IpProto.ICMP, buildIcmpEcho({ id: 99, seq: 3 }), Buffer.from([0x94, 4, 0, 0]))),
    expect: {
      "icmp.type": "8",
      "icmp.checksum.status": "1",
      "ip.opt.type": "148",
      "ip.checksum.status": "1",
    },
  },
  {
    name: "ICMPv6 echo reply",
    frame: eth(
      buildIpv6({
        src: B6,
        dst: A6,
        nextHeader: IpProto.ICMPV6,
        payload: buildIcmpv6Echo({ src: B6, dst: A6, id: 5, seq: 6, reply: true }),
      }),
    ),
    expect: { "icmpv6.type": "129", "icmpv6.checksum.status": "1" },
  },
  {
    name: "ICMPv6 neighbor solicitation",
    frame: eth(
      buildIpv6({
        src: A6,
        dst: solicitedNodeMulticast(B6),
        hopLimit: 255,
        nextHeader: IpProto.ICMPV6,
        payload: buildIcmpv6NeighborSolicitation({ src: A6, target: B6, sourceMac: MAC_A }),
      }),
    ),
    expect: {
      "icmpv6.type": "135",
      "icmpv6.nd.ns.target_address": B6,
      "ipv6.dst": "ff02::1:ff00:20",
      "icmpv6.checksum.status": "1",
    },
  },
  {
    name: "ARP request",
    frame: eth(
      buildArp({ op: "request", senderMac: MAC_A, senderIp: A4, targetIp: "10.1.2.1" }),
      EtherType.ARP,
    ),
    expect: { "arp.opcode": "1", "arp.src.proto_ipv4": A4, "arp.dst.proto_ipv4": "10.1.2.1" },
  },
  {
    name: "802.1Q tagged TCP",
    frame: eth(
      v4(IpProto.TCP, buildTcp({ src: A4, dst: B4, srcPort: 1, dstPort: 22, flags: TcpFlags.ACK })),
      undefined,
      [{ id: 42 }],
    ),
    expect: { "vlan.id": "42", "tcp.dstport": "22", "tcp.checksum.status": "1" },
  },
  {
    name: "QinQ (802.1ad + 802.1Q) UDP",
    frame: eth(
      v4(IpProto.UDP, buildUdp({ src: A4, dst: B4, srcPort: 2, dstPort: 514, payload: Buffer.from("hi") })),
      undefined,
      [{ id: 1000 }, { id: 7 }],
    ),
    expect: { "ieee8021ad.id": "1000", "vlan.id": "7", "udp.dstport": "514", "udp.checksum.status": "1" },
  },
  {
    name: "IPv6 with hop-by-hop, routing, destination options",
    frame: eth(
      buildIpv6({
        src: A6,
        dst: B6,
        nextHeader: IpProto.TCP,
        extensions: [
          { type: "hop-by-hop", options: Buffer.from([5, 2, 0, 0]) },
          { type: "routing", addresses: [B6] },
          { type: "destination" },
        ],
        payload: buildTcp({ src: A6, dst: B6, srcPort: 3, dstPort: 3306, flags: TcpFlags.ACK }),
      }),
    ),
    expect: {
      "ipv6.routing.type": "0",
      "tcp.dstport": "3306",
      "tcp.checksum.status": "1",
      "ipv6.dstopts.nxt": "6",
    },
  },
];

const FIELDS = [
  ...new Set([
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "ip.checksum.status",
    "tcp.checksum.status",
    "udp.checksum.status",
    "icmp.checksum.status",
    "icmpv6.checksum.status",
    "dns.qry.name",
    "tls.handshake.extensions_server_name",
    "http.host",
    "_ws.malformed",
    ...cases.flatMap((c) => Object.keys(c.expect)),
  ]),
];

describe("packet builders, checked by tshark", () => {
  const file = writeTempPcap(
    LinkType.ETHERNET,
    cases.map((c) => c.frame),
  );
  const rows = tsharkFields(file, FIELDS, { prefs: CHECKSUM_PREFS });
  const col = (row: string[] | undefined, field: string): string => row?.[FIELDS.indexOf(field)] ?? "";

  it("yields one tshark row per packet", () => {
    expect(rows).toHaveLength(cases.length);
  });

  cases.forEach((c, i) => {
    it(`${c.name}: fields as intended, checksums good, nothing malformed`, () => {
      const row = rows[i];
      for (const [field, value] of Object.entries(c.expect)) expect(col(row, field), field).toBe(value);
      for (const field of FIELDS.filter((f) => f.endsWith("checksum.status"))) {
        const status = col(row, field);
        // 1 = good; empty when the protocol is absent. Never 0 (bad) or 2 (unverified).
        for (const s of status.split(",").filter((x) => x !== "")) expect(s, field).toBe("1");
      }
      expect(col(row, "_ws.malformed")).toBe("");
    });

    it(`${c.name}: decoder agrees with tshark`, () => {
      const d = decodeFrame(
        c.frame,
        0,
        c.frame.length,
        c.frame.length,
        LinkType.ETHERNET,
        createDecodedPacket(),
      );
      expect(d.truncated).toBe(false);
      expect(d.malformed).toBe(false);
      const src =
        d.l3 === "arp" ? col(row(i), "arp.src.proto_ipv4") : col(row(i), "ip.src") || col(row(i), "ipv6.src");
      expect(formatIp(d, "src")).toBe(src);
      expect(d.dnsName ?? "").toBe(col(row(i), "dns.qry.name"));
      expect(d.tlsSni ?? "").toBe(col(row(i), "tls.handshake.extensions_server_name"));
      expect(d.httpHost ?? "").toBe(col(row(i), "http.host"));
    });
  });

  function row(i: number): string[] | undefined {
    return rows[i];
  }
});
