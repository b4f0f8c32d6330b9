/**
 * Hand-made Ethernet frames for the index tests: the cases where libpcap, the decoder and a
 * naive extractor read a packet differently. Addresses come from the documentation ranges
 * (198.51.100.0/24, 2001:db8::/32) and ports from 40001 up, so expressions on them are selective.
 */
import {
  buildArp,
  buildEthernet,
  buildIpv4,
  buildIpv6,
  buildTcp,
  buildUdp,
  type VlanTag,
} from "../synth/index.js";

const MAC_A = "02:00:00:00:0a:01";
const MAC_B = "02:00:00:00:0a:02";

function tcp(src: string, dst: string, srcPort: number, dstPort: number): Buffer {
  return buildTcp({ src, dst, srcPort, dstPort, flags: 0x18, payload: Buffer.from("hello") });
}

function udp(src: string, dst: string, srcPort: number, dstPort: number): Buffer {
  return buildUdp({ src, dst, srcPort, dstPort, payload: Buffer.from("datagram") });
}

function eth(payload: Uint8Array, etherType?: number, vlans?: VlanTag[]): Buffer {
  return buildEthernet({
    src: MAC_A,
    dst: MAC_B,
    payload,
    ...(etherType === undefined ? {} : { etherType }),
    ...(vlans === undefined ? {} : { vlans }),
  });
}

/** An SCTP common header (ports, verification tag, checksum) and one empty DATA chunk. */
function sctp(srcPort: number, dstPort: number): Buffer {
  const out = Buffer.alloc(28);
  out.writeUInt16BE(srcPort, 0);
  out.writeUInt16BE(dstPort, 2);
  out.writeUInt32BE(0x01020304, 4);
  out[12] = 0; // DATA
  out.writeUInt16BE(16, 14);
  return out;
}

/** An IPv6 Authentication Header (24 bytes: length field 4) followed by `payload`. */
function ah(next: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(24);
  header[0] = next;
  header[1] = 4;
  header.writeUInt32BE(0x1000, 4);
  header.writeUInt32BE(1, 8);
  return Buffer.concat([header, payload]);
}

/** The crafted frames, each a complete Ethernet frame. */
export function craftedFrames(): Buffer[] {
  const a6 = "2001:db8::a1";
  const b6 = "2001:db8::b2";
  const frames: Buffer[] = [];
  // IPv6 extension chains: libpcap's `tcp` and `port` see only the first next header.
  frames.push(
    eth(
      buildIpv6({
        src: a6,
        dst: b6,
        nextHeader: 6,
        payload: tcp(a6, b6, 40001, 80),
        extensions: [{ type: "hop-by-hop" }],
      }),
    ),
    eth(
      buildIpv6({
        src: "2001:db8::c3",
        dst: b6,
        nextHeader: 17,
        payload: udp("2001:db8::c3", b6, 40002, 53),
        extensions: [{ type: "routing", addresses: ["2001:db8::ff"] }],
      }),
    ),
    eth(
      buildIpv6({
        src: "2001:db8::d4",
        dst: b6,
        nextHeader: 17,
        payload: udp("2001:db8::d4", b6, 40003, 514),
        extensions: [{ type: "destination" }, { type: "fragment", more: true, id: 9 }],
      }),
    ),
    eth(
      buildIpv6({
        src: "2001:db8::d4",
        dst: b6,
        nextHeader: 17,
        payload: Buffer.alloc(64, 0x41),
        extensions: [{ type: "fragment", offset: 1280, id: 9 }],
      }),
    ),
    eth(
      buildIpv6({
        src: "2001:db8::e5",
        dst: b6,
        nextHeader: 51,
        payload: ah(6, tcp("2001:db8::e5", b6, 40004, 443)),
      }),
    ),
    eth(
      buildIpv6({
        src: "2001:db8::f6",
        dst: b6,
        nextHeader: 6,
        payload: tcp("2001:db8::f6", b6, 40006, 22),
        extensions: [{ type: "fragment", more: true, id: 3 }],
      }),
    ),
    eth(
      buildIpv6({
        src: "fe80::1",
        dst: "ff02::16",
        nextHeader: 58,
        payload: Buffer.alloc(28, 0x8f),
        extensions: [{ type: "hop-by-hop" }],
      }),
    ),
    eth(buildIpv6({ src: "2001:db8::7", dst: b6, nextHeader: 132, payload: sctp(40012, 2905) })),
  );
  // IPv4 variants libpcap reads without validating.
  const withOptions = buildIpv4({
    src: "198.51.100.5",
    dst: "198.51.100.6",
    protocol: 6,
    payload: tcp("198.51.100.5", "198.51.100.6", 40005, 8080),
    options: Buffer.from([1, 1, 1, 0]),
  });
  const badIhl = buildIpv4({
    src: "198.51.100.7",
    dst: "198.51.100.8",
    protocol: 6,
    payload: tcp("198.51.100.7", "198.51.100.8", 40007, 25),
  });
  badIhl[0] = 0x42; // IHL 2: libpcap still reads the ports at 4 * IHL = 8 bytes in
  const badVersion = buildIpv4({
    src: "198.51.100.9",
    dst: "198.51.100.10",
    protocol: 17,
    payload: udp("198.51.100.9", "198.51.100.10", 40009, 123),
  });
  badVersion[0] = 0x65; // version 6 in an IPv4 EtherType frame
  const zeroLength = buildIpv4({
    src: "198.51.100.11",
    dst: "198.51.100.12",
    protocol: 6,
    payload: tcp("198.51.100.11", "198.51.100.12", 40011, 3306),
  });
  zeroLength.writeUInt16BE(0, 2);
  frames.push(
    eth(withOptions),
    eth(badIhl),
    eth(badVersion),
    eth(zeroLength),
    eth(
      buildIpv4({
        src: "198.51.100.13",
        dst: "198.51.100.14",
        protocol: 6,
        payload: Buffer.alloc(40, 7),
        fragmentOffset: 1480,
      }),
    ),
    eth(
      buildIpv4({
        src: "198.51.100.13",
        dst: "198.51.100.14",
        protocol: 17,
        payload: udp("198.51.100.13", "198.51.100.14", 40013, 514),
        moreFragments: true,
      }),
    ),
    eth(buildIpv4({ src: "198.51.100.15", dst: "198.51.100.16", protocol: 132, payload: sctp(40015, 2905) })),
    eth(
      buildIpv4({ src: "198.51.100.17", dst: "198.51.100.18", protocol: 47, payload: Buffer.alloc(24, 0) }),
    ),
  );
  // ARP, RARP, and ARP with 8-byte hardware addresses (libpcap reads fixed offsets anyway).
  const request = buildArp({
    op: "request",
    senderMac: MAC_A,
    senderIp: "198.51.100.20",
    targetIp: "198.51.100.21",
  });
  const rarp = buildArp({
    op: "reply",
    senderMac: MAC_A,
    senderIp: "198.51.100.22",
    targetIp: "198.51.100.23",
  });
  const wide = Buffer.alloc(8 + 2 * (8 + 4));
  wide.writeUInt16BE(6, 0);
  wide.writeUInt16BE(0x0800, 2);
  wide[4] = 8;
  wide[5] = 4;
  wide.writeUInt16BE(1, 6);
  Buffer.from([198, 51, 100, 24]).copy(wide, 16);
  Buffer.from([198, 51, 100, 25]).copy(wide, 28);
  frames.push(eth(request, 0x0806), eth(rarp, 0x8035), eth(wide, 0x0806));
  // VLAN stacks: a 0x9100 tag, three tags, QinQ over IPv6, a tagged ARP.
  frames.push(
    eth(
      buildIpv4({
        src: "198.51.100.26",
        dst: "198.51.100.27",
        protocol: 17,
        payload: udp("198.51.100.26", "198.51.100.27", 40026, 161),
      }),
      undefined,
      [{ id: 3001, tpid: 0x9100 }],
    ),
    eth(
      buildIpv4({
        src: "198.51.100.30",
        dst: "198.51.100.31",
        protocol: 6,
        payload: tcp("198.51.100.30", "198.51.100.31", 40030, 80),
      }),
      undefined,
      [{ id: 3002 }, { id: 3003, tpid: 0x8100 }, { id: 3004 }],
    ),
    eth(
      buildIpv6({
        src: "2001:db8::32",
        dst: b6,
        nextHeader: 17,
        payload: udp("2001:db8::32", b6, 40032, 53),
      }),
      undefined,
      [{ id: 3005 }, { id: 3006 }],
    ),
    eth(
      buildArp({ op: "request", senderMac: MAC_A, senderIp: "198.51.100.33", targetIp: "198.51.100.34" }),
      0x0806,
      [{ id: 3007 }],
    ),
  );
  // An 802.3 frame (length, not EtherType): no key at all.
  frames.push(eth(Buffer.alloc(46, 0x42), 46));
  return frames;
}
