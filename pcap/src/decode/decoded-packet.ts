/**
 * The decoder's result: one mutable object the caller creates once and passes to every
 * {@link decodePacket} call, so the packet loop allocates nothing. Numbers use -1 for
 * "absent"; strings are null unless the packet carries them (and are then newly allocated).
 */
import { type Layer, MAX_PATH_LAYERS, pathString } from "./protocol-path.js";

/** The link header the packet was decoded with. */
export type LinkLayer = "eth" | "sll" | "sll2" | "null" | "loop" | "raw" | "unknown";

/** Network layer kind. */
export type L3Kind = "none" | "ipv4" | "ipv6" | "arp" | "other";

/** Application protocols the decoder recognises (by content, else by well-known port). */
export type AppKind = "none" | "dns" | "tls" | "http" | "ssh" | "mysql" | "data";

/** Everything the decoder learned about one packet. */
export interface DecodedPacket {
  /** The buffer decoded (the record's); offsets below point into it. Valid while the record is. */
  buf: Buffer;
  /** LINKTYPE_* decoded. */
  linkType: number;
  link: LinkLayer;
  /** Captured and original lengths of the record. */
  caplen: number;
  origLen: number;
  /** Bytes ran out before a header the packet announces was complete (snaplen cut, short frame). */
  truncated: boolean;
  /** A header is inconsistent (bad version, lengths smaller than the minimum...). */
  malformed: boolean;
  /** VLAN tags seen (may exceed 2; only the first two ids are kept). */
  vlanCount: number;
  /** Outer and inner VLAN ids (-1 when absent). */
  vlanIds: [number, number];
  /** EtherType of the network layer (after VLAN tags), -1 when the link has none. */
  etherType: number;
  l3: L3Kind;
  /** Offset of the network header in `buf`, -1 when none. */
  l3Offset: number;
  /** IPv4 (and ARP) source/destination as unsigned 32-bit integers; 0 otherwise. */
  src4: number;
  dst4: number;
  /** Offsets in `buf` of the source/destination address bytes (4 or 16), -1 when none. */
  srcOffset: number;
  dstOffset: number;
  /** IPv4 TTL or IPv6 hop limit, -1 when none. */
  ttl: number;
  /** Transport protocol: IPv4 protocol, or IPv6 next header after the extension headers; -1 when none. */
  ipProto: number;
  /** IPv4 fragment (MF set or offset > 0), or IPv6 packet with a Fragment header doing the same. */
  isFragment: boolean;
  /** Fragment offset in bytes. */
  fragOffset: number;
  moreFragments: boolean;
  /** IPv4 identification / IPv6 fragment id, -1 when none. */
  fragId: number;
  /** ARP operation (1 request, 2 reply), -1 when not ARP. */
  arpOp: number;
  /** Offset of the transport header, -1 when none. */
  l4Offset: number;
  /** Transport ports, -1 when none. */
  srcPort: number;
  dstPort: number;
  /** TCP flag bits (FIN 0x01 ... CWR 0x80, NS 0x100), -1 when not TCP. */
  tcpFlags: number;
  tcpSeq: number;
  tcpAck: number;
  /** ICMP / ICMPv6 type and code, -1 when none. */
  icmpType: number;
  icmpCode: number;
  /** Offset of the transport payload in `buf`, -1 when none. */
  payloadOffset: number;
  /** Payload bytes present in `buf` (link trailer excluded). */
  payloadLength: number;
  /** Payload bytes on the wire according to the IP and transport headers. */
  payloadWireLength: number;
  app: AppKind;
  /** First question of a DNS message ("<Root>" for the root), null when none. */
  dnsName: string | null;
  /** Its QTYPE, -1 when none. */
  dnsType: number;
  /** DNS message id, -1 when none. */
  dnsId: number;
  dnsResponse: boolean;
  /** server_name of a TLS ClientHello, null when none. */
  tlsSni: string | null;
  /** HTTP request method, null when not a request. */
  httpMethod: string | null;
  /** HTTP Host header of a request, null when none. */
  httpHost: string | null;
  /** Layers as Wireshark names them, e.g. "eth:vlan:ip:tcp:tls". */
  protocolPath: string;
  /** Internal: numeric form of the path while decoding. */
  pathKey: number;
  /** Internal: layers in pathKey. */
  pathDepth: number;
  /** Internal: 256-byte scratch for assembling names without per-label strings. */
  readonly scratch: Buffer;
}

/** A fresh result object; create one per loop and reuse it. */
export function createDecodedPacket(): DecodedPacket {
  const d: DecodedPacket = {
    buf: Buffer.alloc(0),
    linkType: -1,
    link: "unknown",
    caplen: 0,
    origLen: 0,
    truncated: false,
    malformed: false,
    vlanCount: 0,
    vlanIds: [-1, -1],
    etherType: -1,
    l3: "none",
    l3Offset: -1,
    src4: 0,
    dst4: 0,
    srcOffset: -1,
    dstOffset: -1,
    ttl: -1,
    ipProto: -1,
    isFragment: false,
    fragOffset: 0,
    moreFragments: false,
    fragId: -1,
    arpOp: -1,
    l4Offset: -1,
    srcPort: -1,
    dstPort: -1,
    tcpFlags: -1,
    tcpSeq: -1,
    tcpAck: -1,
    icmpType: -1,
    icmpCode: -1,
    payloadOffset: -1,
    payloadLength: 0,
    payloadWireLength: 0,
    app: "none",
    dnsName: null,
    dnsType: -1,
    dnsId: -1,
    dnsResponse: false,
    tlsSni: null,
    httpMethod: null,
    httpHost: null,
    protocolPath: "",
    pathKey: 0,
    pathDepth: 0,
    scratch: Buffer.alloc(256),
  };
  return d;
}

/** Clears every field of `d` for the next packet. */
export function resetDecodedPacket(
  d: DecodedPacket,
  buf: Buffer,
  linkType: number,
  caplen: number,
  origLen: number,
): void {
  d.buf = buf;
  d.linkType = linkType;
  d.link = "unknown";
  d.caplen = caplen;
  d.origLen = origLen;
  d.truncated = false;
  d.malformed = false;
  d.vlanCount = 0;
  d.vlanIds[0] = -1;
  d.vlanIds[1] = -1;
  d.etherType = -1;
  d.l3 = "none";
  d.l3Offset = -1;
  d.src4 = 0;
  d.dst4 = 0;
  d.srcOffset = -1;
  d.dstOffset = -1;
  d.ttl = -1;
  d.ipProto = -1;
  d.isFragment = false;
  d.fragOffset = 0;
  d.moreFragments = false;
  d.fragId = -1;
  d.arpOp = -1;
  d.l4Offset = -1;
  d.srcPort = -1;
  d.dstPort = -1;
  d.tcpFlags = -1;
  d.tcpSeq = -1;
  d.tcpAck = -1;
  d.icmpType = -1;
  d.icmpCode = -1;
  d.payloadOffset = -1;
  d.payloadLength = 0;
  d.payloadWireLength = 0;
  d.app = "none";
  d.dnsName = null;
  d.dnsType = -1;
  d.dnsId = -1;
  d.dnsResponse = false;
  d.tlsSni = null;
  d.httpMethod = null;
  d.httpHost = null;
  d.pathKey = 0;
  d.pathDepth = 0;
}

/** Appends a layer to the packet's protocol path. */
export function addLayer(d: DecodedPacket, layer: Layer): void {
  if (d.pathDepth >= MAX_PATH_LAYERS) return;
  d.pathKey = d.pathKey * 32 + layer;
  d.pathDepth++;
}

/** Turns the numeric path into `protocolPath` (cached strings, no allocation after the first time). */
export function finishPath(d: DecodedPacket): void {
  d.protocolPath = pathString(d.pathKey);
}
