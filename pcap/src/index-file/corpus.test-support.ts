/**
 * Test support for the index: captures built from generated traffic plus hand-made edge cases
 * (IPv6 extension chains, malformed IPv4, ARP/RARP, VLAN stacks, truncations), the records as a
 * reader sees them, and the two references a candidate set is checked against: the real
 * tcpdump, and a brute-force reading with the decoder.
 */
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { createDecodedPacket, decodeFrame } from "../decode/index.js";
import { classicFixture, type FixturePacket, openCapture, openCaptureBuffer } from "../format/index.js";
import type { IndexTerm } from "../plan/filter-terms.js";
import { generateTraffic, type TrafficOptions } from "../synth/index.js";
import { craftedFrames } from "./crafted.test-support.js";

const run = promisify(execFile);

/** A record of a capture as the index sees it. */
export interface CorpusRecord {
  offset: number;
  data: Buffer;
  tsSec: number;
  tsNsec: number;
  linkType: number;
}

/** Generated traffic as fixture packets; timestamps as generated (ascending). */
export function trafficPackets(options: Partial<TrafficOptions>): FixturePacket[] {
  return [...generateTraffic({ seed: 7, ratePps: 5000, ...options })].map((p) => ({
    data: p.data,
    tsSec: p.tsSec,
    tsNsec: p.tsNsec,
    origLen: p.origLen,
  }));
}

/**
 * An Ethernet corpus: generated traffic with VLAN/QinQ and IPv6, the crafted edge cases, and
 * truncated copies of both (every length up to 80 bytes for the crafted ones). Each record gets
 * its own whole second, so tcpdump's output maps back to records by timestamp alone.
 */
export function ethernetCorpus(packets: number, seed = 7): FixturePacket[] {
  const traffic = trafficPackets({ seed, packets, vlanShare: 0.3, ipv6Share: 0.3 }).map((p) => p.data);
  const crafted = craftedFrames();
  const frames: Buffer[] = [...traffic];
  // Crafted frames spread through the traffic, some cut short at every length.
  for (const [i, frame] of crafted.entries()) {
    frames.splice(Math.floor(((i + 1) * frames.length) / (crafted.length + 2)), 0, frame);
    for (let cut = 14; cut < Math.min(frame.length, 80); cut += i % 3 === 0 ? 1 : 7) {
      frames.push(frame.subarray(0, cut));
    }
  }
  for (let i = 0; i < 60; i++) {
    const source = traffic[(i * 37) % traffic.length] as Buffer;
    frames.push(source.subarray(0, 14 + ((i * 13) % 60)));
  }
  return sequential(frames);
}

/** Frames with one whole second each from 1_700_000_000. */
export function sequential(frames: readonly Buffer[]): FixturePacket[] {
  return frames.map((data, i) => ({ data, tsSec: 1_700_000_000 + i, tsNsec: (i * 7919) % 1_000_000_000 }));
}

/** Writes a nanosecond classic pcap of `packets` on `linkType` to `path`. */
export async function writeCapture(
  path: string,
  packets: readonly FixturePacket[],
  linkType = 1,
): Promise<void> {
  await writeFile(path, classicFixture(packets, { variant: "nsec-le", linkType }));
}

/** Every record of the capture at `path`, copied. */
export async function readRecords(path: string): Promise<CorpusRecord[]> {
  const reader = await openCapture(path);
  const out: CorpusRecord[] = [];
  try {
    while (
      (await reader.readBatch((rec) => {
        out.push({
          offset: rec.fileOffset,
          data: Buffer.from(rec.buf.subarray(rec.dataOffset, rec.dataOffset + rec.caplen)),
          tsSec: rec.tsSec,
          tsNsec: rec.tsNsec,
          linkType: rec.linkType,
        });
      })) > 0
    ) {
      // collect everything
    }
  } finally {
    await reader.close();
  }
  return out;
}

/**
 * Offsets of the records `tcpdump -r path -w - EXPR` keeps. Records are matched back by their
 * whole-second timestamp, unique per record in the corpora above.
 */
export async function tcpdumpOffsets(
  path: string,
  expression: string,
  records: readonly CorpusRecord[],
): Promise<number[]> {
  const { stdout } = await run("tcpdump", ["-r", path, "-w", "-", "--", expression], {
    encoding: "buffer",
    maxBuffer: 256 << 20,
  });
  const bySecond = new Map(records.map((r) => [r.tsSec, r.offset]));
  const reader = await openCaptureBuffer(stdout);
  const out: number[] = [];
  while (
    (await reader.readBatch((rec) => {
      const offset = bySecond.get(rec.tsSec);
      if (offset === undefined) throw new Error(`tcpdump returned an unknown record at ${rec.tsSec}`);
      out.push(offset);
    })) > 0
  ) {
    // collect everything
  }
  return out;
}

/** Whether the decoder's reading of `record` satisfies `term` (the brute-force reference). */
export function decoderMatches(record: CorpusRecord, term: IndexTerm): boolean {
  const d = decodeFrame(record.data, 0, record.data.length, record.data.length, record.linkType, decoded);
  switch (term.kind) {
    case "ip4": {
      if (d.l3 !== "ipv4" && d.l3 !== "arp") return false;
      const inRange = (v: number) => v >= term.from && v <= term.to;
      return (d.srcOffset >= 0 && inRange(d.src4)) || (d.dstOffset >= 0 && inRange(d.dst4));
    }
    case "ip6": {
      if (d.l3 !== "ipv6") return false;
      return [d.srcOffset, d.dstOffset].some(
        (at) => at >= 0 && prefixMatches(d.buf, at, term.prefix, term.bits),
      );
    }
    case "port":
      if (d.ipProto !== 6 && d.ipProto !== 17 && d.ipProto !== 132) return false;
      return [d.srcPort, d.dstPort].some((p) => p >= 0 && p >= term.from && p <= term.to);
    case "proto":
      return d.ipProto === term.value;
    case "vlan":
      return term.id === undefined ? d.vlanCount > 0 : d.vlanIds.includes(term.id);
  }
}

const decoded = createDecodedPacket();

function prefixMatches(buf: Uint8Array, at: number, prefix: Uint8Array, bits: number): boolean {
  for (let bit = 0; bit < bits; bit++) {
    const mask = 0x80 >>> (bit & 7);
    if (((buf[at + (bit >>> 3)] as number) & mask) !== ((prefix[bit >>> 3] as number) & mask)) return false;
  }
  return true;
}

/** Dotted text of a uint32 IPv4 address. */
export function ip4Text(v: number): string {
  return [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff].join(".");
}

/** Full (uncompressed) text of 16 IPv6 address bytes. */
export function ip6Text(buf: Uint8Array, at = 0): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2)
    groups.push((((buf[at + i] as number) << 8) | (buf[at + i + 1] as number)).toString(16));
  return groups.join(":");
}
