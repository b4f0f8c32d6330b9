/**
 * Protocol numbers shared by the packet builder (synth) and the decoder, so both sides of
 * every test speak the same constants.
 */

/** EtherType values (IEEE 802 numbers) the engine builds and decodes. */
export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  /** 802.1Q customer VLAN tag. */
  VLAN: 0x8100,
  IPV6: 0x86dd,
  /** 802.1ad service VLAN tag (outer tag of QinQ). */
  QINQ: 0x88a8,
  /** Pre-standard QinQ outer tag some switches still send. */
  QINQ_OLD: 0x9100,
} as const;

/** IP protocol / IPv6 next-header numbers (IANA). */
export const IpProto = {
  HOPOPTS: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ROUTING: 43,
  FRAGMENT: 44,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NONE: 59,
  DSTOPTS: 60,
  SCTP: 132,
} as const;

/** TCP header flag bits (byte 13; NS lives in byte 12 and is reported as 0x100). */
export const TcpFlags = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
  NS: 0x100,
} as const;

/** DNS RR types the builders and the decoder name. */
export const DnsType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  HTTPS: 65,
} as const;

/** BSD address families seen in NULL/LOOP headers: IPv4, and IPv6 as NetBSD/OpenBSD, FreeBSD, Darwin number it. */
export const BsdAf = {
  INET: 2,
  INET6_BSD: 24,
  INET6_FREEBSD: 28,
  INET6_DARWIN: 30,
} as const;
