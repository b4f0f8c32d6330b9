/**
 * Protocol paths ("eth:vlan:ip:tcp:tls") without building a string per packet: the decoder
 * appends small layer ids to a number, and the string for each distinct number is made
 * once and cached. A network has only a few dozen distinct paths.
 */

/** Layer ids, in the order of {@link LAYER_NAMES}. */
export const Layer = {
  ETH: 1,
  VLAN: 2,
  SLL: 3,
  SLL2: 4,
  NULL: 5,
  LOOP: 6,
  RAW: 7,
  IP: 8,
  IPV6: 9,
  ARP: 10,
  TCP: 11,
  UDP: 12,
  ICMP: 13,
  ICMPV6: 14,
  DNS: 15,
  TLS: 16,
  HTTP: 17,
  SSH: 18,
  MYSQL: 19,
  DATA: 20,
  SCTP: 21,
  ESP: 22,
  AH: 23,
  LLC: 24,
  ETHERTYPE: 25,
} as const;

/** One of the {@link Layer} ids. */
export type Layer = (typeof Layer)[keyof typeof Layer];

/** Names as Wireshark's protocol hierarchy spells them (index = layer id). */
export const LAYER_NAMES: readonly string[] = [
  "",
  "eth",
  "vlan",
  "sll",
  "sll2",
  "null",
  "loop",
  "raw",
  "ip",
  "ipv6",
  "arp",
  "tcp",
  "udp",
  "icmp",
  "icmpv6",
  "dns",
  "tls",
  "http",
  "ssh",
  "mysql",
  "data",
  "sctp",
  "esp",
  "ah",
  "llc",
  "ethertype",
];

/** Most layers a key holds: 32^10 stays below 2^53, so the key is an exact integer. */
export const MAX_PATH_LAYERS = 10;

const cache = new Map<number, string>();

/** The path string of `key`, built once per distinct key. */
export function pathString(key: number): string {
  let s = cache.get(key);
  if (s === undefined) {
    const names: string[] = [];
    for (let k = key; k > 0; k = Math.floor(k / 32)) names.push(LAYER_NAMES[k % 32] ?? "?");
    s = names.reverse().join(":");
    cache.set(key, s);
  }
  return s;
}
