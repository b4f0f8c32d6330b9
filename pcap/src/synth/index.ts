/**
 * Packet synthesis: builders for every header the engine decodes, and a seeded generator of
 * realistic mixed traffic for tests, demo rings and benchmarks.
 */
export { type IpInput, type MacInput, parseIp, parseIpv4, parseIpv6, parseMac } from "./address.js";
export { finishChecksum, internetChecksum, pseudoHeaderSum, sum16 } from "./checksum.js";
export {
  buildDnsQuery,
  buildDnsResponse,
  type DnsQueryOptions,
  type DnsResponseOptions,
  encodeDnsName,
} from "./dns.js";
export { buildHttpRequest, buildHttpResponseHead, type HttpRequestOptions } from "./http.js";
export {
  type ArpOptions,
  buildArp,
  buildIp,
  buildIpv4,
  buildIpv6,
  fragmentIpv4,
  fragmentIpv6,
  type Ipv4Options,
  type Ipv6Extension,
  type Ipv6Options,
} from "./ip.js";
export {
  buildEthernet,
  DEFAULT_MAC,
  type EncapsulationOptions,
  type EthernetOptions,
  encapsulate,
  etherTypeOf,
  linkCarries,
  linkHeader,
  type VlanTag,
} from "./link.js";
export {
  createNetwork,
  type Host,
  type Network,
  type NetworkOptions,
  type Server,
  type Subnet,
} from "./network.js";
export { Prng } from "./prng.js";
export { type GeneratorThroughput, measureGenerator } from "./throughput.js";
export { buildTlsClientHello, buildTlsServerHello, type ClientHelloOptions } from "./tls.js";
export {
  DEFAULT_TRAFFIC_OPTIONS,
  type GeneratedPacket,
  generateTraffic,
  resolveTrafficOptions,
  type Timestamp,
  TrafficGenerator,
  type TrafficOptions,
} from "./traffic.js";
export {
  buildIcmpEcho,
  buildIcmpv6Echo,
  buildIcmpv6NeighborAdvertisement,
  buildIcmpv6NeighborSolicitation,
  buildTcp,
  buildUdp,
  type EchoOptions,
  encodeTcpOptions,
  l4Checksum,
  type PseudoHeader,
  pingPayload,
  solicitedNodeMulticast,
  type TcpOption,
  type TcpOptions,
  type UdpOptions,
} from "./transport.js";
