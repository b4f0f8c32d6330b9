/**
 * Test support: the frames and expressions of the tcpdump parity tests, per link type.
 * Each corpus mixes protocols, encapsulations and truncated captures so that most
 * expressions both match and reject something.
 */
import { LinkType } from "../types.js";
import {
  arp,
  bytes,
  cut,
  ether,
  ext8,
  type Frame,
  fragmentHeader,
  icmp,
  ipv4,
  ipv6,
  nullHeader,
  sll,
  Tcp,
  tcp,
  udp,
  vlanTag,
  whole,
} from "./packets.test-support.js";

/** One capture and the expressions run over it. */
export interface Corpus {
  readonly name: string;
  readonly linkType: number;
  readonly frames: readonly Frame[];
  readonly expressions: readonly string[];
  /** Expressions allowed to match all or none of the frames. */
  readonly trivial: ReadonlySet<string>;
  /** Write the capture big-endian (libpcap then compiles LINKTYPE_NULL tests swapped). */
  readonly bigEndian?: boolean;
}

const A = "00:11:22:33:44:55";
const B = "66:77:88:99:aa:bb";
const BCAST = "ff:ff:ff:ff:ff:ff";
const IP = 0x0800;
const IP6 = 0x86dd;
const ARP = 0x0806;
const Q = 0x8100;
const AD = 0x88a8;
const get = Array.from("GET / HTTP/1.1\r\n", (c) => c.charCodeAt(0));

const v4 = (proto: number, src: string, dst: string, payload: ArrayLike<number>, more = {}) =>
  ipv4({ proto, src, dst, ...more }, payload);
const e4 = (payload: Uint8Array, dst = B, src = A) => ether(dst, src, IP, payload);
const e6 = (payload: Uint8Array, dst = B, src = A) => ether(dst, src, IP6, payload);

const tcpSyn = e4(v4(6, "10.0.0.1", "10.0.0.2", tcp(12345, 80, Tcp.SYN)));
const finAck = e4(v4(6, "10.0.0.8", "10.0.0.1", tcp(8080, 51000, Tcp.FIN | Tcp.ACK, [1, 2, 3, 4])));
const v6Syn = e6(ipv6(6, "2001:db8::1", "2001:db8::2", tcp(1234, 80, Tcp.SYN)));
const manyOptions = (count: number, last: Uint8Array): Uint8Array => {
  let chain: Uint8Array = last;
  for (let i = 0; i < count; i++) chain = ext8(i === 0 ? 6 : 60, chain);
  return chain;
};

const ethernetFrames: Frame[] = [
  /* 0 */ whole(tcpSyn),
  /* 1 */ whole(e4(v4(6, "10.0.0.2", "10.0.0.1", tcp(80, 12345, Tcp.SYN | Tcp.ACK)), A, B)),
  /* 2 */ whole(e4(v4(6, "10.0.0.1", "93.184.216.34", tcp(50000, 80, Tcp.PSH | Tcp.ACK, get)))),
  /* 3 */ whole(
    e4(v4(6, "192.168.1.5", "10.0.0.2", tcp(40000, 443, Tcp.ACK), { options: [1, 1, 1, 0, 0, 0, 0, 0] })),
  ),
  /* 4 */ whole(e4(v4(17, "10.0.0.7", "10.0.0.53", udp(5353, 53, [9, 9, 9, 9]), { flags: 1 }))),
  /* 5 */ whole(e4(v4(17, "10.0.0.7", "10.0.0.53", [0, 53, 0, 53, 0, 80, 0, 80], { fragOffset: 185 }))),
  /* 6 */ whole(e4(v4(17, "10.1.2.3", "224.0.0.251", udp(5353, 5353, [0x12, 0x34])), "01:00:5e:00:00:fb")),
  /* 7 */ whole(e4(v4(17, "10.0.0.9", "255.255.255.255", udp(68, 67, new Array(20).fill(0))), BCAST)),
  /* 8 */ whole(e4(v4(1, "10.0.0.1", "8.8.8.8", icmp(8)))),
  /* 9 */ whole(e4(v4(1, "8.8.8.8", "10.0.0.1", icmp(0)), A, B)),
  /* 10 */ whole(e4(v4(47, "172.16.5.4", "172.20.0.1", [0, 0, 8, 0]))),
  /* 11 */ whole(ether(B, A, Q, bytes(vlanTag(100, IP), v4(17, "10.0.0.1", "10.0.0.9", udp(40001, 161))))),
  /* 12 */ whole(
    ether(B, A, Q, bytes(vlanTag(200, IP), v4(6, "10.0.0.5", "10.0.0.6", tcp(33333, 80, Tcp.SYN)))),
  ),
  /* 13 */ whole(
    ether(
      B,
      A,
      AD,
      bytes(vlanTag(10, Q), vlanTag(100, IP), v4(6, "10.0.0.1", "10.0.0.3", tcp(22, 50022, Tcp.ACK))),
    ),
  ),
  /* 14 */ whole(
    ether(
      B,
      A,
      Q,
      bytes(vlanTag(300, Q), vlanTag(100, IP6), ipv6(17, "2001:db8::10", "2001:db8::20", udp(5300, 53))),
    ),
  ),
  /* 15 */ whole(v6Syn),
  /* 16 */ whole(e6(ipv6(0, "fe80::1", "ff02::1", ext8(17, udp(546, 547))), "33:33:00:00:00:01")),
  /* 17 */ whole(
    e6(ipv6(44, "2001:db8::1", "2001:db8::2", fragmentHeader(6, 0, true, tcp(1234, 80, Tcp.ACK)))),
  ),
  /* 18 */ whole(e6(ipv6(58, "2001:db8:1::5", "2001:db9::7", icmp(128)))),
  /* 19 */ whole(e6(ipv6(58, "fe80::2", "ff02::1:ff00:1", icmp(135)), "33:33:ff:00:00:01")),
  /* 20 */ whole(ether(BCAST, A, ARP, arp(1, A, "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2"))),
  /* 21 */ whole(ether(A, B, ARP, arp(2, B, "10.0.0.2", A, "10.0.0.1"))),
  /* 22 */ cut(tcpSyn, 34),
  /* 23 */ cut(tcpSyn, 10),
  /* 24 */ cut(e4(v4(6, "10.0.0.3", "10.0.0.4", tcp(2000, 80, Tcp.SYN))), 40),
  /* 25 */ whole(e4(v4(17, "10.0.0.1", "10.0.0.2", udp(1000, 2000, new Array(600).fill(0x41))))),
  /* 26 */ whole(finAck),
  /* 27 */ whole(e4(v4(6, "10.0.0.2", "10.0.0.1", tcp(80, 12345, Tcp.RST)), A, B)),
  /* 28 */ whole(
    e4(v4(6, "172.16.5.4", "10.0.0.1", tcp(443, 40400, Tcp.PSH | Tcp.ACK), { flags: 2, ttl: 3 })),
  ),
  /* 29 */ whole(ether("01:80:c2:00:00:00", A, 38, bytes([0x42, 0x42, 0x03], new Array(35).fill(0)))),
  /* 30 */ whole(e6(ipv6(6, "2001:db8:ffff::1", "2001:db9::1", tcp(443, 50000, Tcp.ACK)))),
  /* 31 */ cut(finAck, 54),
  /* 32 */ whole(e4(v4(17, "10.0.0.1", "10.0.0.2", udp(8080, 9999)))),
  /* 33 */ whole(
    ether(B, A, Q, bytes(vlanTag(100, IP6), ipv6(6, "2001:db8::1", "2001:db8::2", tcp(5, 443, Tcp.SYN)))),
  ),
  /* 34 */ whole(e4(v4(2, "10.0.0.1", "224.0.0.22", [0x22, 0, 0, 0, 0, 0, 0, 0]), "01:00:5e:00:00:16")),
  /* 35 */ whole(e4(v4(132, "10.0.0.1", "10.0.0.2", new Array(12).fill(1)))),
  /* 36 */ whole(e4(v4(17, "10.0.0.1", "10.255.255.255", udp(137, 137)), BCAST)),
  /* 37 */ whole(e6(ipv6(60, "2001:db8::1", "2001:db8::2", manyOptions(70, tcp(9, 9, Tcp.ACK))))),
  /* 38 */ whole(
    e6(ipv6(0, "2001:db8::1", "2001:db8::2", ext8(60, ext8(44, fragmentHeader(17, 0, false, udp(1, 53)))))),
  ),
  /* 39 */ cut(v6Syn, 60),
  /* 40 */ whole(e6(ipv6(17, "2001:db8::5", "2001:db8::6", udp(4000, 53)))),
];

const ethernetExpressions = [
  "host 10.0.0.1",
  "src host 10.0.0.1",
  "dst host 10.0.0.2",
  "host 10.0.0.1 and tcp",
  "net 10.0.0.0/8",
  "net 192.168.0.0 mask 255.255.0.0",
  "src net 172.16.0.0/12",
  "dst net 224.0.0.0/4",
  "port 80",
  "tcp port 443",
  "src port 12345",
  "dst port 53",
  "udp dst port 53",
  "portrange 8000-9000",
  "dst portrange 1-1024",
  "tcp",
  "udp",
  "icmp",
  "ip",
  "ip6",
  "arp",
  "icmp6",
  "igmp",
  "sctp",
  "vlan",
  "vlan 100",
  "vlan 100 and host 10.0.0.1",
  "vlan and udp",
  "vlan and vlan 100",
  "vlan 10 and vlan 100 and tcp",
  "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
  "tcp[tcpflags] & tcp-syn != 0",
  "tcp[tcpflags] & (tcp-fin|tcp-rst) != 0",
  "tcp[13] == 0x12",
  "ip[6:2] & 0x1fff != 0",
  "ip[6] & 0x20 != 0",
  "ip[0] & 0xf > 5",
  "less 100",
  "greater 500",
  "len >= 60 and len <= 80",
  "ether host 00:11:22:33:44:55",
  "ether src 66:77:88:99:aa:bb and not arp",
  "ether dst ff:ff:ff:ff:ff:ff",
  "ether broadcast",
  "ether multicast",
  "ip multicast",
  "ip broadcast",
  "ether proto 0x86dd",
  "ether[0] & 1 != 0",
  "ether[12:2] < 1500",
  "ip6 net 2001:db8::/32",
  "ip6 src net fe80::/10",
  "ip6 dst host 2001:db8::2",
  "host 2001:db8::1",
  "icmp[icmptype] == icmp-echo",
  "icmp and icmp[icmptype] != icmp-echo",
  "icmp6 and ip6[40] == 135",
  "icmp6[icmp6type] == icmp6-echo",
  "not tcp",
  "not ip and not ip6",
  "tcp and (port 80 or port 443)",
  "(udp or icmp) and src host 10.0.0.1",
  "host 10.0.0.1 or (vlan and host 10.0.0.5)",
  "tcp src port 80 or udp dst port 53",
  "udp port 53 and not ip[6:2] & 0x1fff != 0",
  "ip proto 47",
  "ip6 and tcp port 80",
  "ip6 and udp",
  "ip6 protochain 6",
  "ip6 protochain 17",
  "ip protochain 6",
  "arp host 10.0.0.2",
  "arp and src host 10.0.0.1",
  "stp",
  "tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420",
  "ip[2:2] > 100",
  "ip[8] % 7 == 1",
  "ip[8] / 3 > 20",
  "ip[8] * 3 - 1 > 100",
  "(ip[8] ^ 0x40) | 1 == 1",
  "ip[0] << ip[9] != 0x45",
  "ip[8] >> (ip[9] - 1) != 0",
  "len - 10 > 100",
  "-ip[8] & 0xff == 0xc0",
  "pppoes",
  "mpls",
];

const rawFrames: Frame[] = [
  whole(v4(6, "10.0.0.1", "10.0.0.2", tcp(1234, 80, Tcp.SYN))),
  whole(ipv6(17, "2001:db8::1", "2001:db8::2", udp(5353, 53))),
  whole(v4(1, "10.0.0.2", "10.0.0.1", icmp(8))),
  cut(v4(6, "10.0.0.1", "10.0.0.2", tcp(1234, 80, Tcp.SYN)), 16),
  whole(ipv6(58, "2001:db8::2", "2001:db8::1", icmp(128))),
  whole(v4(17, "10.0.1.1", "10.0.0.2", [0, 53, 0, 53], { fragOffset: 3 })),
];

const rawExpressions = [
  "host 10.0.0.1",
  "tcp",
  "ip6",
  "udp port 53",
  "icmp",
  "icmp6",
  "ip",
  "net 10.0.0.0/24",
  "tcp[tcpflags] & tcp-syn != 0",
  "less 40",
  "ip6 net 2001:db8::/32",
  "ip[6:2] & 0x1fff != 0",
];

const sllFrames: Frame[] = [
  whole(sll(IP, v4(6, "10.0.0.1", "10.0.0.2", tcp(1234, 80, Tcp.SYN)))),
  whole(sll(IP6, ipv6(58, "2001:db8::2", "2001:db8::1", icmp(128)))),
  whole(sll(ARP, arp(1, A, "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2"))),
  whole(sll(IP, v4(17, "10.0.0.3", "10.0.0.4", udp(5353, 53)))),
  cut(sll(IP, v4(6, "10.0.0.1", "10.0.0.2", tcp(1234, 80, Tcp.SYN))), 15),
  whole(sll(IP6, ipv6(6, "2001:db8::2", "2001:db8::1", tcp(443, 80, Tcp.ACK)))),
];

const sllExpressions = [
  "tcp port 80",
  "ip6",
  "arp",
  "host 10.0.0.1",
  "udp",
  "icmp6",
  "ip",
  "not ip",
  "ip6 and tcp",
];

const nullFrames = (bigEndian: boolean): Frame[] => [
  whole(nullHeader(2, v4(6, "10.0.0.1", "10.0.0.2", tcp(1234, 80, Tcp.SYN)), bigEndian)),
  whole(nullHeader(30, ipv6(17, "2001:db8::1", "2001:db8::2", udp(5353, 53)), bigEndian)),
  whole(nullHeader(24, ipv6(6, "2001:db8::1", "2001:db8::2", tcp(1, 80, Tcp.ACK)), bigEndian)),
  whole(nullHeader(2, v4(1, "10.0.0.2", "10.0.0.1", icmp(0)), bigEndian)),
  cut(nullHeader(2, v4(1, "10.0.0.2", "10.0.0.1", icmp(0)), bigEndian), 3),
  whole(nullHeader(28, ipv6(58, "2001:db8::2", "2001:db8::1", icmp(128)), bigEndian)),
];

const nullExpressions = ["ip", "ip6", "tcp port 80", "host 10.0.0.1", "udp", "icmp", "icmp6", "not ip"];

/** All corpora of the parity tests. */
export const corpora: readonly Corpus[] = [
  {
    name: "ethernet",
    linkType: LinkType.ETHERNET,
    frames: ethernetFrames,
    expressions: ethernetExpressions,
    trivial: new Set(["pppoes", "mpls", "ip broadcast"]),
  },
  { name: "raw", linkType: LinkType.RAW, frames: rawFrames, expressions: rawExpressions, trivial: new Set() },
  {
    name: "sll",
    linkType: LinkType.LINUX_SLL,
    frames: sllFrames,
    expressions: sllExpressions,
    trivial: new Set(),
  },
  {
    name: "null",
    linkType: LinkType.NULL,
    frames: nullFrames(false),
    expressions: nullExpressions,
    trivial: new Set(),
  },
  {
    name: "null-big-endian",
    linkType: LinkType.NULL,
    frames: nullFrames(true),
    expressions: nullExpressions,
    trivial: new Set(),
    bigEndian: true,
  },
];
