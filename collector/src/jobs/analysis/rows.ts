/**
 * From tables to JSON rows, once per result: address text, names, ordering by rank with the
 * key as tie-break, so the same packets always give the same JSON.
 */
import { formatIpv4, formatIpv6, pathString } from "@pcapfleet/pcap";
import type {
  ConversationRow,
  DnsQueryRow,
  HttpHostRow,
  PortRow,
  TalkerRow,
  TlsSniRow,
  TruncatedTable,
} from "./analysis-json.js";
import { dnsTypeName, ipProtocolName, isoTime } from "./names.js";
import { buildProtocolTree, type ProtocolNode } from "./protocol-tree.js";
import type { StringTable } from "./string-table.js";
import { type AnalysisTables, ConvCol, NameCol, namedTables, PathCol, PortCol, TalkerCol } from "./tables.js";
import type { WordTable } from "./word-table.js";

const TWO_32 = 4_294_967_296;

/** The protocol tree from the path table. */
export function hierarchyRows(t: WordTable): ProtocolNode[] {
  const paths = t
    .ranked(t.size, (a, b) => t.compareKeys(a, b))
    .map((slot) => ({
      path: pathString(t.keyWord(slot, 0) * TWO_32 + t.keyWord(slot, 1)),
      packets: t.get(slot, PathCol.PACKETS),
      bytes: t.get(slot, PathCol.BYTES),
    }));
  return buildProtocolTree(paths);
}

/** Text of the address whose family and words start at key word `at` (family, then 4 words). */
function addressText(t: WordTable, slot: number, family: number, at: number): string {
  if (family === 4) return formatIpv4(t.keyWord(slot, at));
  const bytes = Buffer.alloc(16);
  for (let w = 0; w < 4; w++) bytes.writeUInt32BE(t.keyWord(slot, at + w), w * 4);
  return formatIpv6(bytes, 0);
}

/** Top `n` talkers. */
export function talkerRows(t: WordTable, n: number): TalkerRow[] {
  return t
    .ranked(n, (a, b) => t.compareKeys(a, b))
    .map((slot) => {
      const sentPackets = t.get(slot, TalkerCol.SENT_PACKETS);
      const sentBytes = t.get(slot, TalkerCol.SENT_BYTES);
      const receivedPackets = t.get(slot, TalkerCol.RECEIVED_PACKETS);
      const receivedBytes = t.get(slot, TalkerCol.RECEIVED_BYTES);
      return {
        address: addressText(t, slot, t.keyWord(slot, 0), 1),
        packets: sentPackets + receivedPackets,
        bytes: sentBytes + receivedBytes,
        sent_packets: sentPackets,
        sent_bytes: sentBytes,
        received_packets: receivedPackets,
        received_bytes: receivedBytes,
      };
    });
}

/** Top `n` conversations, A being the first packet's source. */
export function conversationRows(t: WordTable, n: number): ConversationRow[] {
  return t
    .ranked(n, (a, b) => t.compareKeys(a, b))
    .map((slot) => {
      const head = t.keyWord(slot, 0);
      const family = head >>> 16;
      const hasPorts = (head & 0x100) !== 0;
      const proto = head & 0xff;
      // Address words: 1 for IPv4, 4 for IPv6 (see ConvCol).
      const aw = family === 4 ? 1 : 4;
      const ports = t.keyWord(slot, 1 + 2 * aw);
      const low = { address: addressText(t, slot, family, 1), port: hasPorts ? ports >>> 16 : null };
      const high = { address: addressText(t, slot, family, 1 + aw), port: hasPorts ? ports & 0xffff : null };
      const lowToHigh = { packets: t.get(slot, ConvCol.AB_PACKETS), bytes: t.get(slot, ConvCol.AB_BYTES) };
      const highToLow = { packets: t.get(slot, ConvCol.BA_PACKETS), bytes: t.get(slot, ConvCol.BA_BYTES) };
      const flipped = t.get(slot, ConvCol.FLIPPED) === 1;
      const [a, b] = flipped ? [high, low] : [low, high];
      const [ab, ba] = flipped ? [highToLow, lowToHigh] : [lowToHigh, highToLow];
      return {
        address_a: a.address,
        port_a: a.port,
        address_b: b.address,
        port_b: b.port,
        protocol: ipProtocolName(proto),
        ip_proto: proto,
        packets: ab.packets + ba.packets,
        bytes: ab.bytes + ba.bytes,
        a_to_b_packets: ab.packets,
        a_to_b_bytes: ab.bytes,
        b_to_a_packets: ba.packets,
        b_to_a_bytes: ba.bytes,
        first_seen: isoTime(t.get(slot, ConvCol.FIRST_MS)),
        last_seen: isoTime(t.get(slot, ConvCol.LAST_MS)),
      };
    });
}

/** Top `n` service ports. */
export function portRows(t: WordTable, n: number): PortRow[] {
  return t
    .ranked(n, (a, b) => t.compareKeys(a, b))
    .map((slot) => {
      const key = t.keyWord(slot, 0);
      const proto = key >>> 16;
      return {
        transport: proto === 6 ? "tcp" : proto === 17 ? "udp" : "sctp",
        port: key & 0xffff,
        packets: t.get(slot, PortCol.PACKETS),
        bytes: t.get(slot, PortCol.BYTES),
      };
    });
}

/** Slots of a name table, top `n` by count, then by name and number. */
function rankedNames(t: StringTable, n: number): number[] {
  return t.ranked(n, (a, b) => {
    const x = t.nameOf(a);
    const y = t.nameOf(b);
    return x < y ? -1 : x > y ? 1 : t.subOf(a) - t.subOf(b);
  });
}

/** Top `n` DNS query names. */
export function dnsRows(t: StringTable, n: number): DnsQueryRow[] {
  return rankedNames(t, n).map((slot) => ({
    name: t.nameOf(slot),
    type: t.subOf(slot) < 0 ? null : dnsTypeName(t.subOf(slot)),
    count: t.get(slot, NameCol.COUNT),
  }));
}

/** Top `n` TLS server names. */
export function sniRows(t: StringTable, n: number): TlsSniRow[] {
  return rankedNames(t, n).map((slot) => ({
    server_name: t.nameOf(slot),
    count: t.get(slot, NameCol.COUNT),
  }));
}

/** Top `n` HTTP hosts. */
export function hostRows(t: StringTable, n: number): HttpHostRow[] {
  return rankedNames(t, n).map((slot) => ({ host: t.nameOf(slot), count: t.get(slot, NameCol.COUNT) }));
}

/** Keys held per table. */
export function distinctCounts(t: AnalysisTables): Record<TruncatedTable["table"], number> {
  const out = {} as Record<TruncatedTable["table"], number>;
  for (const { name, table } of namedTables(t)) out[name] = table.size;
  return out;
}

/** The tables that evicted keys. */
export function truncatedTables(t: AnalysisTables): TruncatedTable[] {
  return namedTables(t)
    .filter(({ table }) => table.evicted > 0)
    .map(({ name, table, rankedBy }) => ({
      table: name,
      ranked_by: rankedBy,
      max_keys: table.maxKeys,
      evicted_keys: table.evicted,
      max_error: table.maxError,
    }));
}
