/**
 * The analysis tables: key layouts and counter columns, shared by the packet loop that fills
 * them (`analyser.ts`) and the code that turns them into JSON rows (`rows.ts`).
 */
import type { TableName } from "./analysis-json.js";
import { StringTable } from "./string-table.js";
import { WordTable } from "./word-table.js";

/** Protocol paths: key [pathKey high 32 bits, low 32 bits]; ranked by packets. */
export const PathCol = { PACKETS: 0, BYTES: 1 } as const;

/** IP addresses: key [family (4 or 6), address (1 word for IPv4, 4 for IPv6)]; ranked by bytes. */
export const TalkerCol = { SENT_PACKETS: 0, SENT_BYTES: 1, RECEIVED_PACKETS: 2, RECEIVED_BYTES: 3 } as const;

/**
 * Conversations: key [family << 16 | has ports << 8 | ip proto, A, B, port A << 16 | port B]
 * with addresses of 1 word (IPv4: 4 words in all) or 4 words (IPv6: 10 words), and
 * (A, port A) <= (B, port B) so both directions share a key; ranked by bytes. FLIPPED is 1
 * when the first packet seen went from B to A.
 *
 * A conversation also remembers the talker slots of A and B and the slot of its service port,
 * with the eviction count of their table when it looked them up: while that count has not
 * moved, no slot of that table was reused, so the next packet counts there without a lookup.
 */
export const ConvCol = {
  AB_PACKETS: 0,
  AB_BYTES: 1,
  BA_PACKETS: 2,
  BA_BYTES: 3,
  FIRST_MS: 4,
  LAST_MS: 5,
  FLIPPED: 6,
  TALKER_A: 7,
  TALKER_B: 8,
  TALKERS_EPOCH: 9,
  PORT: 10,
  PORT_EPOCH: 11,
} as const;

/** Columns of a conversation. */
const CONV_STRIDE = 12;

/** Conversation key words. */
export const CONV_WORDS = 10;

/** Service ports: key [ip proto << 16 | port]; ranked by bytes. */
export const PortCol = { PACKETS: 0, BYTES: 1 } as const;

/** Names (DNS: (name, qtype); SNI and Host: (name, 0)): one counter, the rank. */
export const NameCol = { COUNT: 0 } as const;

/** Every table of an analysis. */
export interface AnalysisTables {
  paths: WordTable;
  talkers: WordTable;
  conversations: WordTable;
  ports: WordTable;
  dns: StringTable;
  sni: StringTable;
  hosts: StringTable;
}

/** Empty tables holding at most `maxKeys` keys each. */
export function createTables(maxKeys: number): AnalysisTables {
  return {
    paths: new WordTable(2, 2, maxKeys),
    talkers: new WordTable(5, 4, maxKeys),
    conversations: new WordTable(CONV_WORDS, CONV_STRIDE, maxKeys),
    ports: new WordTable(1, 2, maxKeys),
    dns: new StringTable(1, maxKeys),
    sni: new StringTable(1, maxKeys),
    hosts: new StringTable(1, maxKeys),
  };
}

/** Each table with its JSON name and ranking measure, in output order. */
export function namedTables(t: AnalysisTables): ReadonlyArray<{
  name: TableName;
  table: WordTable | StringTable;
  rankedBy: "packets" | "bytes" | "count";
}> {
  return [
    { name: "protocol_hierarchy", table: t.paths, rankedBy: "packets" },
    { name: "top_talkers", table: t.talkers, rankedBy: "bytes" },
    { name: "conversations", table: t.conversations, rankedBy: "bytes" },
    { name: "top_ports", table: t.ports, rankedBy: "bytes" },
    { name: "dns_queries", table: t.dns, rankedBy: "count" },
    { name: "tls_sni", table: t.sni, rankedBy: "count" },
    { name: "http_hosts", table: t.hosts, rankedBy: "count" },
  ];
}
