/**
 * Throughput measurement of the traffic generator, for benchmarks and reports. Run it on
 * the built code (pcap/dist): under vitest, module imports go through getters and the
 * numbers are not the ones production sees.
 */
import { TrafficGenerator, type TrafficOptions } from "./traffic.js";

/** Result of {@link measureGenerator}. */
export interface GeneratorThroughput {
  packets: number;
  bytes: number;
  /** Wall-clock seconds. */
  seconds: number;
  /** Output megabytes (10^6 bytes) per second. */
  mbPerSecond: number;
  /** Mean packet length. */
  meanPacketBytes: number;
}

/** Generates at least `bytes` bytes of traffic with `options` and reports how fast it went. */
export function measureGenerator(bytes: number, options: Partial<TrafficOptions> = {}): GeneratorThroughput {
  const gen = new TrafficGenerator({ seed: 1, ratePps: 100_000, ...options });
  const start = process.hrtime.bigint();
  let total = 0;
  let packets = 0;
  for (let p = gen.next(); p !== undefined && total < bytes; p = gen.next()) {
    total += p.data.length;
    packets++;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return {
    packets,
    bytes: total,
    seconds,
    mbPerSecond: total / 1e6 / seconds,
    meanPacketBytes: packets === 0 ? 0 : total / packets,
  };
}
