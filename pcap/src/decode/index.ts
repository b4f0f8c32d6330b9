/**
 * Packet decoding for analysis: link layers of every LinkType, VLAN tags, IPv4/IPv6/ARP,
 * TCP/UDP/ICMP, and the DNS question, TLS SNI and HTTP Host, into one reused result object.
 */
export { decodeFrame, decodePacket } from "./decode-packet.js";
export {
  type AppKind,
  createDecodedPacket,
  type DecodedPacket,
  type L3Kind,
  type LinkLayer,
  resetDecodedPacket,
} from "./decoded-packet.js";
export { formatIp, formatIpv4, formatIpv6, formatMac } from "./format.js";
export { LAYER_NAMES, Layer, pathString } from "./protocol-path.js";
export { BsdAf, DnsType, EtherType, IpProto, TcpFlags } from "./protocols.js";
export { type DecoderCost, measureDecoder } from "./throughput.js";
