/**
 * Cost measurement of the analyser, for benchmarks and reports: generated packets laid out in
 * one buffer as a reader's chunk holds them, run through the decoder alone and through the
 * analyser (which decodes too), so the difference is what the tables cost. Run it on the built
 * code (collector/dist): under vitest, cross-module calls go through getters and are slower.
 */
import { createDecodedPacket, decodePacket, emptyRecord, generateTraffic, LinkType } from "@pcapfleet/pcap";
import { createAnalyser } from "./analyser.js";

/** Options of {@link measureAnalyser}. */
export interface AnalyserCostOptions {
  /** Packets generated (default 50 000: some 45 MB, about what a merge's read buffers hold). */
  packets: number;
  /** Timed passes over them, after one warm-up pass (default 10). */
  passes: number;
  /** Generator seed (default 5). */
  seed: number;
  /** Simulated client hosts: more hosts, more talker and conversation keys (default 40). */
  hosts: number;
  /** The analyser's maxKeys; below the key count it measures the evicting (heap) path. */
  maxKeys: number;
}

/** Result of {@link measureAnalyser}. */
export interface AnalyserCost {
  /** Packets analysed in the timed passes. */
  packets: number;
  /** CPU nanoseconds per packet for decoding alone. */
  decodeNsPerPacket: number;
  /** CPU nanoseconds per packet for the analyser (decode included). */
  analyseNsPerPacket: number;
  /** Analyser throughput: 1e9 / analyseNsPerPacket. */
  packetsPerSecond: number;
  /** Conversations held at the end, and whether any table evicted. */
  conversations: number;
  truncated: boolean;
}

/** Measures the analyser on generated Ethernet traffic (10% VLAN, 20% IPv6). */
export function measureAnalyser(options: Partial<AnalyserCostOptions> = {}): AnalyserCost {
  const o: AnalyserCostOptions = {
    packets: 50_000,
    passes: 10,
    seed: 5,
    hosts: 40,
    maxKeys: 100_000,
    ...options,
  };
  const generated = [
    ...generateTraffic({ seed: o.seed, packets: o.packets, hosts: o.hosts, vlanShare: 0.1, ipv6Share: 0.2 }),
  ];
  const chunk = Buffer.concat(generated.map((p) => p.data));
  const count = generated.length;
  const offsets = new Float64Array(count + 1);
  const times = new Float64Array(count);
  let at = 0;
  generated.forEach((p, i) => {
    offsets[i] = at;
    times[i] = p.tsSec;
    at += p.data.length;
  });
  offsets[count] = at;
  const first = times[0] ?? 0;
  const analyser = createAnalyser({
    windowStartMs: first * 1000,
    windowEndMs: ((times[count - 1] ?? first) + 1) * 1000,
    maxKeys: o.maxKeys,
  });
  const rec = emptyRecord();
  rec.buf = chunk;
  rec.linkType = LinkType.ETHERNET;
  const decoded = createDecodedPacket();
  const pass = (analyse: boolean): void => {
    for (let i = 0; i < count; i++) {
      rec.dataOffset = offsets[i] as number;
      rec.caplen = (offsets[i + 1] as number) - rec.dataOffset;
      rec.origLen = rec.caplen;
      rec.tsSec = times[i] as number;
      if (analyse) analyser.observe(rec);
      else decodePacket(rec, decoded);
    }
  };
  // CPU time, not wall time: on a shared machine the process is also descheduled, which
  // would be counted against whichever loop happened to run then.
  const timed = (analyse: boolean): number => {
    pass(analyse);
    const start = process.cpuUsage();
    for (let p = 0; p < o.passes; p++) pass(analyse);
    const used = process.cpuUsage(start);
    return ((used.user + used.system) * 1000) / (count * o.passes);
  };
  const decodeNsPerPacket = timed(false);
  const analyseNsPerPacket = timed(true);
  const result = analyser.result();
  return {
    packets: count * o.passes,
    decodeNsPerPacket,
    analyseNsPerPacket,
    packetsPerSecond: 1e9 / analyseNsPerPacket,
    conversations: result.distinct.conversations,
    truncated: result.truncated_tables.length > 0,
  };
}
