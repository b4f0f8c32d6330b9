/**
 * Rings for the agent daemon tests: consecutive pcap files from one seeded traffic generator,
 * rotated by size like `tcpdump -C`, written with the engine's pcap writer.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { createPcapWriter, TrafficGenerator, type TrafficOptions } from "@pcapfleet/pcap";

/** One written file. */
export interface RingFile {
  readonly path: string;
  readonly bytes: number;
  readonly packets: number;
  /** First and last packet time, ns since the epoch. */
  readonly firstNs: bigint;
  readonly lastNs: bigint;
}

/** Writes `files` files of about `fileBytes` each into `dir`, named `prefix00`, `prefix01`... */
export async function writeRing(
  dir: string,
  options: { files: number; fileBytes: number; prefix?: string; traffic: Partial<TrafficOptions> },
): Promise<RingFile[]> {
  await mkdir(dir, { recursive: true });
  const gen = new TrafficGenerator({ ...options.traffic });
  const written: RingFile[] = [];
  let p = gen.next();
  for (let i = 0; i < options.files && p !== undefined; i++) {
    const path = join(dir, `${options.prefix ?? "ring.pcap"}${String(i).padStart(2, "0")}`);
    const writer = await createPcapWriter(path, {
      linkType: options.traffic.linkType ?? 1,
      nanosecond: true,
    });
    const firstNs = BigInt(p.tsSec) * 1_000_000_000n + BigInt(p.tsNsec);
    let lastNs = firstNs;
    let packets = 0;
    while (p !== undefined && writer.bytesWritten <= options.fileBytes) {
      if (!writer.writePacket(p.data, 0, p.data.length, p.origLen, p.tsSec, p.tsNsec)) await writer.drain();
      lastNs = BigInt(p.tsSec) * 1_000_000_000n + BigInt(p.tsNsec);
      packets += 1;
      p = gen.next();
    }
    await writer.close();
    written.push({ path, bytes: writer.bytesWritten, packets, firstNs, lastNs });
  }
  return written;
}
