/**
 * Build-speed and size measurement of the index, for benchmarks and reports. Run it on the
 * built code (pcap/dist): under vitest, module imports go through getters and the numbers are
 * not the ones production sees. Example:
 * `node -e "import('./pcap/dist/index-file/throughput.js').then((m) => m.reportIndexBuild('/tmp/t.pcap', 500e6))"`
 */
import { stat } from "node:fs/promises";
import { createPcapWriter } from "../format/index.js";
import { generateTraffic, type TrafficOptions } from "../synth/index.js";
import { buildIndex } from "./build.js";

/** Result of {@link measureIndexBuild}. */
export interface IndexBuildThroughput {
  /** Capture size in bytes. */
  bytes: number;
  packets: number;
  /** Wall-clock seconds of the fastest pass. */
  seconds: number;
  /** Capture megabytes (10^6 bytes) indexed per second, fastest pass. */
  mbPerSecond: number;
  /** Every pass, in MB/s. */
  passes: number[];
  /** Index file size, and its share of the capture bytes. */
  indexBytes: number;
  ratio: number;
}

/** Writes at least `bytes` bytes of generated traffic to a classic pcap at `path`; returns its packet count. */
export async function writeTrafficCapture(
  path: string,
  bytes: number,
  options: Partial<TrafficOptions> = {},
): Promise<number> {
  const linkType = options.linkType ?? 1;
  const writer = await createPcapWriter(path, { linkType, nanosecond: true });
  let packets = 0;
  for (const p of generateTraffic({ seed: 1, ratePps: 50_000, ...options })) {
    if (!writer.writePacket(p.data, 0, p.data.length, p.origLen, p.tsSec, p.tsNsec)) await writer.drain();
    packets++;
    if (writer.bytesWritten >= bytes) break;
  }
  await writer.close();
  return packets;
}

/**
 * Builds the index of `path` `passes` times (the first also warms the page cache and the JIT
 * and is not counted unless it is the only one) and reports the fastest pass.
 */
export async function measureIndexBuild(path: string, passes = 3): Promise<IndexBuildThroughput> {
  const bytes = Number((await stat(path)).size);
  const rates: number[] = [];
  let best = Number.POSITIVE_INFINITY;
  let index = await buildIndex(path);
  for (let i = 0; i < passes; i++) {
    const start = process.hrtime.bigint();
    index = await buildIndex(path);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    rates.push(bytes / 1e6 / seconds);
    best = Math.min(best, seconds);
  }
  const stats = index.stats();
  return {
    bytes,
    packets: stats.packets,
    seconds: best,
    mbPerSecond: bytes / 1e6 / best,
    passes: rates,
    indexBytes: stats.indexBytes,
    ratio: stats.indexBytes / bytes,
  };
}

/** Writes a capture of `bytes` bytes at `path` (unless one is there) and measures its index build. */
export async function reportIndexBuild(path: string, bytes: number): Promise<IndexBuildThroughput> {
  const existing = await stat(path).catch(() => undefined);
  if (existing === undefined || existing.size < bytes) await writeTrafficCapture(path, bytes);
  return measureIndexBuild(path);
}
