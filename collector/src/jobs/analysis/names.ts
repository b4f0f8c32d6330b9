/**
 * Names shown in an analysis: DNS query types as `dig` and Wireshark print them, IP protocols
 * as Wireshark's conversation tabs name them, and the cap on key strings taken from packets.
 */

/** QTYPE mnemonics (IANA DNS parameters) of the types seen in practice. */
const DNS_TYPES: ReadonlyMap<number, string> = new Map([
  [1, "A"],
  [2, "NS"],
  [5, "CNAME"],
  [6, "SOA"],
  [12, "PTR"],
  [13, "HINFO"],
  [15, "MX"],
  [16, "TXT"],
  [17, "RP"],
  [18, "AFSDB"],
  [24, "SIG"],
  [25, "KEY"],
  [28, "AAAA"],
  [29, "LOC"],
  [33, "SRV"],
  [35, "NAPTR"],
  [36, "KX"],
  [37, "CERT"],
  [39, "DNAME"],
  [42, "APL"],
  [43, "DS"],
  [44, "SSHFP"],
  [45, "IPSECKEY"],
  [46, "RRSIG"],
  [47, "NSEC"],
  [48, "DNSKEY"],
  [49, "DHCID"],
  [50, "NSEC3"],
  [51, "NSEC3PARAM"],
  [52, "TLSA"],
  [53, "SMIMEA"],
  [55, "HIP"],
  [59, "CDS"],
  [60, "CDNSKEY"],
  [61, "OPENPGPKEY"],
  [62, "CSYNC"],
  [63, "ZONEMD"],
  [64, "SVCB"],
  [65, "HTTPS"],
  [99, "SPF"],
  [249, "TKEY"],
  [250, "TSIG"],
  [251, "IXFR"],
  [252, "AXFR"],
  [255, "ANY"],
  [256, "URI"],
  [257, "CAA"],
]);

/** The mnemonic of QTYPE `type`, or RFC 3597's generic `TYPE<n>` for the others. */
export function dnsTypeName(type: number): string {
  return DNS_TYPES.get(type) ?? `TYPE${type}`;
}

/** IP protocol numbers with a name in the analysis (IANA protocol numbers). */
const IP_PROTOCOLS: ReadonlyMap<number, string> = new Map([
  [1, "icmp"],
  [2, "igmp"],
  [4, "ipip"],
  [6, "tcp"],
  [17, "udp"],
  [41, "ipv6"],
  [47, "gre"],
  [50, "esp"],
  [51, "ah"],
  [58, "icmpv6"],
  [89, "ospf"],
  [103, "pim"],
  [112, "vrrp"],
  [132, "sctp"],
]);

/** Lowercase name of IP protocol `proto`, or `ip-proto-<n>` for the others. */
export function ipProtocolName(proto: number): string {
  return IP_PROTOCOLS.get(proto) ?? `ip-proto-${proto}`;
}

/**
 * Longest key string kept from a packet. DNS names stop at 253 characters; an SNI or a Host
 * line can be far longer in hostile traffic, and a table holds up to `maxKeys` of them.
 */
export const MAX_NAME_LENGTH = 255;

/** True for the characters {@link keyName} escapes: C0 controls and DEL. */
function isControl(c: number): boolean {
  return c < 0x20 || c === 0x7f;
}

/**
 * A name from a packet (DNS query name, SNI, Host; latin1 text of the wire bytes) as the
 * analysis stores it: cut to {@link MAX_NAME_LENGTH} characters, control characters written
 * as RFC 1035's `\DDD` (decimal). Postgres cannot store U+0000 in jsonb, so a NUL in hostile
 * traffic would otherwise make the whole analysis unstorable. Ordinary names are returned as
 * they are, without allocating.
 */
export function keyName(name: string): string {
  const n = name.length;
  let clean = n <= MAX_NAME_LENGTH;
  for (let i = 0; clean && i < n; i++) if (isControl(name.charCodeAt(i))) clean = false;
  if (clean) return name;
  // Built from single characters, so the result never keeps a long original alive (a slice would).
  let out = "";
  for (let i = 0; i < Math.min(n, MAX_NAME_LENGTH); i++) {
    const c = name.charCodeAt(i);
    out += isControl(c) ? `\\${String(c).padStart(3, "0")}` : name.charAt(i);
  }
  return out;
}

/** Largest time a Date holds (ECMA-262): ±8.64e15 ms, about ±275 000 years. */
export const MAX_DATE_MS = 8.64e15;

/**
 * RFC 3339 text (UTC, milliseconds) of `ms` since the epoch. A corrupt pcapng timestamp can lie
 * beyond what a Date holds, where `toISOString` throws: such times are shown at the limit.
 */
export function isoTime(ms: number): string {
  return new Date(Math.max(-MAX_DATE_MS, Math.min(MAX_DATE_MS, ms))).toISOString();
}
