/**
 * Key extraction for the index: which addresses, ports, IP protocols and VLAN ids a packet
 * carries, read at the byte offsets libpcap's compiled programs load them from.
 *
 * The decoder is not used here on purpose. It validates (IPv4 version and IHL, ARP lengths,
 * IPv6 payload length) and stops at the first inconsistency, while libpcap's generated BPF
 * checks only the link-layer type and then loads fixed offsets: `host 10.0.0.1` on Ethernet is
 * `ether[12:2] = 0x800 and (ip[12:4] = X or ip[16:4] = X)` whatever the version nibble says.
 * A malformed packet that libpcap matches would be missing from a decoder-built index, which
 * breaks the superset rule. So every key is recorded as soon as its bytes are present (a BPF
 * load beyond the captured length rejects the packet, so absent bytes can never match), and
 * where libpcap and the decoder read differently (IPv6 extension headers, ARP with unusual
 * address lengths) both readings are recorded.
 */
import { LinkType } from "../types.js";

/** Receives the keys of the packet being scanned; the index builder implements it. */
export interface KeySink {
  /** An IPv4 address (IP source or destination, ARP/RARP sender or target), as uint32. */
  ip4(value: number): void;
  /**
   * An IPv6 address at `at` in `buf`, of which the first `words` 32-bit words (1..4) are
   * captured. A cut address still counts: libpcap's `ip6 net P/n` loads only the words the
   * prefix covers, so it can match a packet whose address is cut after them.
   */
  ip6(buf: Uint8Array, at: number, words: number): void;
  /** A TCP, UDP or SCTP port (source or destination). */
  port(value: number): void;
  /** An IPv4 protocol or an IPv6 next-header value. */
  proto(value: number): void;
  /**
   * One 802.1Q/802.1ad tag (every tag of a stack is reported), by id; -1 when the frame ends
   * right after the TPID (bare `vlan` only tests the TPID, so such a frame still matches it).
   */
  vlan(id: number): void;
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_RARP = 0x8035;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_SCTP = 132;
const PROTO_FRAGMENT = 44;
const PROTO_AH = 51;
/** IPv6 chains longer than this are not real traffic; libpcap's `protochain` gives up too. */
const MAX_IPV6_HEADERS = 16;

/** True for LINKTYPE_* values the extractor understands; other files are unindexable. */
export function isIndexableLinkType(linkType: number): boolean {
  switch (linkType) {
    case LinkType.ETHERNET:
    case LinkType.LINUX_SLL:
    case LinkType.LINUX_SLL2:
    case LinkType.NULL:
    case LinkType.LOOP:
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6:
      return true;
    default:
      return false;
  }
}

/**
 * Reports the keys of the `caplen` bytes of `buf` at `start`, a packet of `linkType`. Returns
 * false when the link type is not one the index understands (the caller must then treat the
 * whole file as unindexable); packets of a known link type always return true, whatever their
 * content, because a packet whose bytes fit no primitive cannot match one in libpcap either.
 */
export function extractKeys(
  buf: Uint8Array,
  start: number,
  caplen: number,
  linkType: number,
  sink: KeySink,
): boolean {
  const end = start + caplen;
  switch (linkType) {
    case LinkType.ETHERNET:
      if (caplen >= 14) etherPayload(buf, start + 14, end, u16(buf, start + 12), sink);
      return true;
    case LinkType.LINUX_SLL:
      if (caplen >= 16) etherPayload(buf, start + 16, end, u16(buf, start + 14), sink);
      return true;
    case LinkType.LINUX_SLL2:
      if (caplen >= 20) etherPayload(buf, start + 20, end, u16(buf, start), sink);
      return true;
    case LinkType.NULL:
    case LinkType.LOOP:
      if (caplen >= 4) loopback(buf, start, end, sink);
      return true;
    case LinkType.RAW:
      // libpcap tests the version nibble on DLT_RAW and nothing else.
      if (caplen >= 1) {
        const version = (buf[start] as number) >>> 4;
        if (version === 4) ipv4(buf, start, end, sink);
        else if (version === 6) ipv6(buf, start, end, sink);
      }
      return true;
    case LinkType.IPV4:
      ipv4(buf, start, end, sink);
      return true;
    case LinkType.IPV6:
      ipv6(buf, start, end, sink);
      return true;
    default:
      return false;
  }
}

/**
 * NULL carries the address family in the capturing host's byte order, LOOP in network order;
 * libpcap compares one order, the decoder tries both, so both are accepted. IPv6 has three BSD
 * numbers (24, 28, 30); Linux's 10 is accepted as well since accepting more is always safe.
 */
function loopback(buf: Uint8Array, p: number, end: number, sink: KeySink): void {
  const be = u32(buf, p);
  // Families are small numbers: a value above 0xffff is one written in the other byte order.
  const family = be > 0xffff ? swap32(be) : be;
  if (family === 2) ipv4(buf, p + 4, end, sink);
  else if (family === 24 || family === 28 || family === 30 || family === 10) ipv6(buf, p + 4, end, sink);
}

/** What follows an EtherType, after any number of VLAN tags (TPIDs libpcap's `vlan` accepts). */
function etherPayload(buf: Uint8Array, start: number, end: number, etherType: number, sink: KeySink): void {
  let type = etherType;
  let p = start;
  while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
    if (end - p < 2) {
      sink.vlan(-1);
      return;
    }
    sink.vlan(u16(buf, p) & 0x0fff);
    if (end - p < 4) return;
    type = u16(buf, p + 2);
    p += 4;
  }
  if (type === ETHERTYPE_IPV4) ipv4(buf, p, end, sink);
  else if (type === ETHERTYPE_IPV6) ipv6(buf, p, end, sink);
  else if (type === ETHERTYPE_ARP || type === ETHERTYPE_RARP) arp(buf, p, end, sink);
}

function ipv4(buf: Uint8Array, p: number, end: number, sink: KeySink): void {
  const have = end - p;
  if (have < 10) return;
  const proto = buf[p + 9] as number;
  sink.proto(proto);
  if (have >= 16) sink.ip4(u32(buf, p + 12));
  if (have >= 20) sink.ip4(u32(buf, p + 16));
  // libpcap: protocol is TCP/UDP/SCTP, fragment offset 0, ports at 4 * IHL whatever the IHL is.
  if (proto !== PROTO_TCP && proto !== PROTO_UDP && proto !== PROTO_SCTP) return;
  if ((u16(buf, p + 6) & 0x1fff) !== 0) return;
  ports(buf, p + ((buf[p] as number) & 0x0f) * 4, end, sink);
}

/**
 * IPv6: addresses at 8 and 24; every next-header value of the chain is a protocol key (libpcap's
 * `ip6 proto` reads the first one and the one after a leading fragment header, the decoder the
 * last one); ports where libpcap reads them (right after the fixed header when the first next
 * header is a transport) and where the decoder does (after the chain, first fragments only).
 */
function ipv6(buf: Uint8Array, p: number, end: number, sink: KeySink): void {
  const have = end - p;
  if (have < 7) return;
  let next = buf[p + 6] as number;
  sink.proto(next);
  if (have >= 12) sink.ip6(buf, p + 8, Math.min(4, (have - 8) >>> 2));
  if (have >= 28) sink.ip6(buf, p + 24, Math.min(4, (have - 24) >>> 2));
  let pos = p + 40;
  for (let hops = 0; hops < MAX_IPV6_HEADERS && pos < end; hops++) {
    let length: number;
    if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
      length = end - pos >= 2 ? ((buf[pos + 1] as number) + 1) * 8 : 0;
    } else if (next === PROTO_AH) {
      length = end - pos >= 2 ? ((buf[pos + 1] as number) + 2) * 4 : 0;
    } else if (next === PROTO_FRAGMENT) {
      sink.proto(buf[pos] as number);
      if (end - pos < 8) return;
      const later = (u16(buf, pos + 2) & 0xfff8) !== 0;
      next = buf[pos] as number;
      pos += 8;
      if (later) return; // later fragments carry no transport header
      continue;
    } else break;
    sink.proto(buf[pos] as number);
    if (length === 0) return;
    next = buf[pos] as number;
    pos += length;
  }
  if (next === PROTO_TCP || next === PROTO_UDP || next === PROTO_SCTP) ports(buf, pos, end, sink);
}

function ports(buf: Uint8Array, p: number, end: number, sink: KeySink): void {
  if (end - p >= 2) sink.port(u16(buf, p));
  if (end - p >= 4) sink.port(u16(buf, p + 2));
}

/**
 * ARP and RARP: libpcap reads the protocol addresses at the fixed offsets of Ethernet/IPv4 ARP
 * (14 and 24) without looking at the length fields; the decoder follows the lengths. Both.
 */
function arp(buf: Uint8Array, p: number, end: number, sink: KeySink): void {
  const have = end - p;
  if (have >= 18) sink.ip4(u32(buf, p + 14));
  if (have >= 28) sink.ip4(u32(buf, p + 24));
  if (have < 8) return;
  const hlen = buf[p + 4] as number;
  if (hlen === 6 || buf[p + 5] !== 4 || u16(buf, p + 2) !== ETHERTYPE_IPV4) return;
  const spa = p + 8 + hlen;
  const tpa = spa + 4 + hlen;
  if (tpa + 4 > end) return;
  sink.ip4(u32(buf, spa));
  sink.ip4(u32(buf, tpa));
}

function u16(buf: Uint8Array, p: number): number {
  return ((buf[p] as number) << 8) | (buf[p + 1] as number);
}

function u32(buf: Uint8Array, p: number): number {
  return (
    (buf[p] as number) * 0x1000000 +
    (((buf[p + 1] as number) << 16) | ((buf[p + 2] as number) << 8) | (buf[p + 3] as number))
  );
}

function swap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}
