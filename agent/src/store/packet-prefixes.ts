/**
 * The per-packet part of subnet summaries: finds the outer IPv4/IPv6 header behind the link
 * header (Ethernet with any number of 802.1Q / 802.1ad / QinQ tags, Linux SLL and SLL2, raw IP,
 * null and loop) and adds the packet's original length to its source and destination prefix
 * counters. It allocates nothing: headers are read at integer offsets of the reader's buffer and
 * prefixes become integer ids of a {@link PrefixTable}.
 */
import type { PacketRecord } from "@pcapfleet/pcap";
import type { MinuteCounts } from "./minute-counts.js";
import type { PrefixTable } from "./prefix-table.js";

const LINK_NULL = 0;
const LINK_ETHERNET = 1;
const LINK_RAW = 101;
const LINK_LOOP = 108;
const LINK_SLL = 113;
const LINK_IPV4 = 228;
const LINK_IPV6 = 229;
const LINK_SLL2 = 276;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
/** Direction bit of a counter key: key = prefixId * 2 + direction. */
export const SRC = 0;
/** See {@link SRC}. */
export const DST = 1;

/** Counts `rec` in `counts` (nothing for packets without an IP header or of other link types). */
export function countPacket(rec: PacketRecord, counts: MinuteCounts, prefixes: PrefixTable): void {
  const buf = rec.buf;
  const p = rec.dataOffset;
  const end = p + rec.caplen;
  const len = rec.origLen;
  switch (rec.linkType) {
    case LINK_ETHERNET:
      if (end - p >= 14) ether(counts, prefixes, buf, p + 14, end, u16(buf, p + 12), len);
      break;
    case LINK_SLL:
      if (end - p >= 16) ether(counts, prefixes, buf, p + 16, end, u16(buf, p + 14), len);
      break;
    case LINK_SLL2:
      if (end - p >= 20) ether(counts, prefixes, buf, p + 20, end, u16(buf, p), len);
      break;
    case LINK_NULL:
    case LINK_LOOP:
      if (end - p >= 4) loopback(counts, prefixes, buf, p, end, len);
      break;
    case LINK_RAW:
    case LINK_IPV4:
    case LINK_IPV6:
      if (end - p >= 1) ip(counts, prefixes, buf, p, end, len);
      break;
    default:
      break;
  }
}

/** After the EtherType: skips 802.1Q / 802.1ad / QinQ tags, then IPv4 or IPv6. */
function ether(
  counts: MinuteCounts,
  prefixes: PrefixTable,
  buf: Uint8Array,
  start: number,
  end: number,
  type0: number,
  len: number,
): void {
  let type = type0;
  let p = start;
  while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
    if (end - p < 4) return;
    type = u16(buf, p + 2);
    p += 4;
  }
  if (type === ETHERTYPE_IPV4) ipv4(counts, prefixes, buf, p, end, len);
  else if (type === ETHERTYPE_IPV6) ipv6(counts, prefixes, buf, p, end, len);
}

/** NULL (host byte order) and LOOP (network order): the address family decides. */
function loopback(
  counts: MinuteCounts,
  prefixes: PrefixTable,
  buf: Uint8Array,
  p: number,
  end: number,
  len: number,
): void {
  const be = u16(buf, p) * 0x10000 + u16(buf, p + 2);
  // Families are small numbers: a value above 0xffff was written in the other byte order.
  const family = be > 0xffff ? (buf[p] as number) | ((buf[p + 1] as number) << 8) : be;
  if (family === 2) ipv4(counts, prefixes, buf, p + 4, end, len);
  else if (family === 24 || family === 28 || family === 30 || family === 10)
    ipv6(counts, prefixes, buf, p + 4, end, len);
}

/** Raw IP: the version nibble decides. */
function ip(
  counts: MinuteCounts,
  prefixes: PrefixTable,
  buf: Uint8Array,
  p: number,
  end: number,
  len: number,
): void {
  const version = (buf[p] as number) >>> 4;
  if (version === 4) ipv4(counts, prefixes, buf, p, end, len);
  else if (version === 6) ipv6(counts, prefixes, buf, p, end, len);
}

function ipv4(
  counts: MinuteCounts,
  prefixes: PrefixTable,
  buf: Uint8Array,
  p: number,
  end: number,
  len: number,
): void {
  if (end - p < 20 || (buf[p] as number) >>> 4 !== 4) return;
  counts.add(prefixes.idV4(u16(buf, p + 12) * 0x10000 + u16(buf, p + 14)) * 2 + SRC, len);
  counts.add(prefixes.idV4(u16(buf, p + 16) * 0x10000 + u16(buf, p + 18)) * 2 + DST, len);
}

function ipv6(
  counts: MinuteCounts,
  prefixes: PrefixTable,
  buf: Uint8Array,
  p: number,
  end: number,
  len: number,
): void {
  if (end - p < 40 || (buf[p] as number) >>> 4 !== 6) return;
  counts.add(prefixes.idV6(buf, p + 8) * 2 + SRC, len);
  counts.add(prefixes.idV6(buf, p + 24) * 2 + DST, len);
}

function u16(buf: Uint8Array, at: number): number {
  return ((buf[at] as number) << 8) | (buf[at + 1] as number);
}
