/**
 * The analysis of a job as the REST API serves it and Postgres stores it (jsonb): plain JSON,
 * snake_case keys, times as RFC 3339 strings with milliseconds, byte counts as Wireshark counts
 * them (original packet lengths, headers included).
 */
import type { ProtocolNode } from "./protocol-tree.js";
import type { TimelineJson } from "./timeline.js";

export type { ProtocolNode } from "./protocol-tree.js";
export type { TimelineJson } from "./timeline.js";

/** Tables of an analysis that are bounded by `maxKeys` (the JSON field names). */
export type TableName =
  | "protocol_hierarchy"
  | "top_talkers"
  | "conversations"
  | "top_ports"
  | "dns_queries"
  | "tls_sni"
  | "http_hosts";

/** One IP address (IPv4 or IPv6), as `tshark -z endpoints,ip` / `endpoints,ipv6` count it. */
export interface TalkerRow {
  /** Dotted quad, or RFC 5952 IPv6 text. */
  address: string;
  /** Packets sent plus packets received (a packet to itself counts twice, as in Wireshark). */
  packets: number;
  bytes: number;
  sent_packets: number;
  sent_bytes: number;
  received_packets: number;
  received_bytes: number;
}

/**
 * Traffic between two endpoints, both directions together: per (address, port) pair for TCP,
 * UDP and SCTP (Wireshark's TCP/UDP tabs), per address pair and IP protocol for the rest
 * (ICMP, ESP...). Fragments after the first carry no ports: they count in the pair's row of
 * the same protocol with null ports. ARP is not IP traffic and has no conversations.
 */
export interface ConversationRow {
  /** The source of the first packet seen (the initiator, when the capture saw the start). */
  address_a: string;
  /** Port of A; null for protocols without ports and for non-first fragments. */
  port_a: number | null;
  address_b: string;
  port_b: number | null;
  /** IP protocol name ("tcp", "udp", "icmp", "icmpv6", "esp"..., else "ip-proto-N"). */
  protocol: string;
  /** IP protocol number (IPv6: the header after the extension headers). */
  ip_proto: number;
  packets: number;
  bytes: number;
  a_to_b_packets: number;
  a_to_b_bytes: number;
  b_to_a_packets: number;
  b_to_a_bytes: number;
  /** Timestamps of the first and last packet, RFC 3339 with milliseconds. */
  first_seen: string;
  last_seen: string;
}

/**
 * Traffic per service port. Each TCP, UDP or SCTP packet with both ports counts once, under the
 * lower of its two ports (either one when equal): clients take ephemeral ports (IANA 49152+,
 * Linux 32768+) above every well-known (< 1024) and registered service port, so in client/server
 * traffic the lower port is the server's, in both directions. Peer-to-peer traffic between two
 * high ports, and clients bound to a low port, count under the lower one all the same.
 */
export interface PortRow {
  transport: "tcp" | "udp" | "sctp";
  port: number;
  packets: number;
  bytes: number;
}

/** DNS queries (not responses) by first question, over UDP and TCP port 53. */
export interface DnsQueryRow {
  /** Query name as sent ("<Root>" for the root): cut to 255 characters, control characters as `\DDD`. */
  name: string;
  /** QTYPE mnemonic ("A", "AAAA", "HTTPS"..., "TYPE<n>" otherwise); null when the packet was cut before it. */
  type: string | null;
  /** Query packets. */
  count: number;
}

/** TLS ClientHellos by server_name (hellos without one are not counted). */
export interface TlsSniRow {
  /** As sent: cut to 255 characters, control characters as `\DDD`. */
  server_name: string;
  count: number;
}

/** HTTP/1.x requests by Host header (requests without one are not counted). */
export interface HttpHostRow {
  /** The header's value as sent (may include a port): cut to 255 characters, control characters as `\DDD`. */
  host: string;
  count: number;
}

/**
 * A table that held `maxKeys` keys and evicted some (see `bounded-table.ts`): its counters are
 * lower bounds, each key's ranking measure at most `max_error` below the truth; `max_error` is
 * at most the table's total of that measure divided by `max_keys`, and every key above that is
 * listed. Counters other than the ranking measure are lower bounds without that guarantee.
 */
export interface TruncatedTable {
  table: TableName;
  /** The measure the table ranks and evicts by, and the unit of `max_error`. */
  ranked_by: "packets" | "bytes" | "count";
  max_keys: number;
  /** Keys evicted to make room (a key evicted twice counts twice). */
  evicted_keys: number;
  max_error: number;
}

/** The analysis of a job's merged packets, computed in one pass while merging. */
export interface JobAnalysis {
  /** Version of this layout, for stored analyses. */
  version: 1;
  packets: number;
  /** Sum of original packet lengths (Wireshark's "Bytes"). */
  bytes: number;
  /** Earliest and latest packet timestamps (RFC 3339, milliseconds); null without packets. */
  first_packet_at: string | null;
  last_packet_at: string | null;
  /** Packets the decoder found malformed (inconsistent headers; capture cuts are not errors). */
  decode_errors: number;
  /** Layer tree like `tshark -z io,phs`, most packets first at each level. */
  protocol_hierarchy: ProtocolNode[];
  /** Top N IP addresses by bytes. */
  top_talkers: TalkerRow[];
  /** Top N conversations by bytes. */
  conversations: ConversationRow[];
  /** Top N service ports by bytes. */
  top_ports: PortRow[];
  /** Top N query names by count. */
  dns_queries: DnsQueryRow[];
  /** Top N TLS server names by count. */
  tls_sni: TlsSniRow[];
  /** Top N HTTP hosts by count. */
  http_hosts: HttpHostRow[];
  /** Packets and bytes per bucket over the job's window. */
  timeline: TimelineJson;
  /** Keys each table holds (all keys seen, unless the table is in `truncated_tables`). */
  distinct: Record<TableName, number>;
  /** Tables that hit `maxKeys`; empty when every count is exact. */
  truncated_tables: TruncatedTable[];
}
