/**
 * Cost measurement of the decoder, for benchmarks and reports: generated packets laid out
 * in one buffer as a reader's chunk holds them, decoded through {@link decodePacket}. Run it
 * on the built code (pcap/dist); vitest's module wrapping makes cross-module calls slower.
 */
import { generateTraffic } from "../synth/traffic.js";
import { emptyRecord, LinkType } from "../types.js";
import { decodePacket } from "./decode-packet.js";
import { createDecodedPacket } from "./decoded-packet.js";

/** Result of {@link measureDecoder}. */
export interface DecoderCost {
  /** Decodes timed (packets x passes, after one warm-up pass). */
  decodes: number;
  /** Wall-clock nanoseconds per packet. */
  nsPerPacket: number;
  /** Packets with an SNI, a DNS name and an HTTP Host (in one pass), as a sanity check. */
  sni: number;
  dns: number;
  host: number;
}

/**
 * Decodes `packets` generated Ethernet packets `passes` times. The default 20 000 packets
 * (about 18 MB) stay in a server's last-level cache, as a chunk a reader just read does.
 */
export function measureDecoder(packets = 20_000, passes = 20, seed = 5): DecoderCost {
  const generated = [...generateTraffic({ seed, packets, vlanShare: 0.1, ipv6Share: 0.2 })];
  const chunk = Buffer.concat(generated.map((p) => p.data));
  const offsets = new Float64Array(generated.length);
  let at = 0;
  generated.forEach((p, i) => {
    offsets[i] = at;
    at += p.data.length;
  });
  const rec = emptyRecord();
  rec.buf = chunk;
  rec.linkType = LinkType.ETHERNET;
  const out = createDecodedPacket();
  const count = generated.length;
  const pass = (): void => {
    for (let i = 0; i < count; i++) {
      rec.dataOffset = offsets[i] as number;
      rec.caplen = (i + 1 < count ? (offsets[i + 1] as number) : chunk.length) - rec.dataOffset;
      rec.origLen = rec.caplen;
      decodePacket(rec, out);
    }
  };
  pass();
  let sni = 0;
  let dns = 0;
  let host = 0;
  for (let i = 0; i < count; i++) {
    rec.dataOffset = offsets[i] as number;
    rec.caplen = (i + 1 < count ? (offsets[i + 1] as number) : chunk.length) - rec.dataOffset;
    decodePacket(rec, out);
    if (out.tlsSni !== null) sni++;
    if (out.dnsName !== null) dns++;
    if (out.httpHost !== null) host++;
  }
  const start = process.hrtime.bigint();
  for (let p = 0; p < passes; p++) pass();
  const ns = Number(process.hrtime.bigint() - start);
  return { decodes: count * passes, nsPerPacket: ns / (count * passes), sni, dns, host };
}
