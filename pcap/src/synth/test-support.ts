/**
 * Test helpers shared by the synth and decode tests: a minimal classic-pcap writer (the
 * engine's own writers live in format/ and are tested there) and a tshark runner, since
 * tshark is the reference the builders and the decoder are checked against.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A packet to write: bytes, optionally with a timestamp and an original length. */
export interface TestPacket {
  data: Uint8Array;
  tsSec?: number;
  tsNsec?: number;
  origLen?: number;
}

/** Serialises packets as a little-endian microsecond classic pcap (magic a1b2c3d4). */
export function pcapBytes(linkType: number, packets: ReadonlyArray<Uint8Array | TestPacket>): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(linkType, 20);
  parts.push(header);
  packets.forEach((p, i) => {
    const pkt: TestPacket = p instanceof Uint8Array ? { data: p, tsSec: 1_700_000_000 + i } : p;
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(pkt.tsSec ?? 1_700_000_000, 0);
    rec.writeUInt32LE(Math.floor((pkt.tsNsec ?? 0) / 1000), 4);
    rec.writeUInt32LE(pkt.data.length, 8);
    rec.writeUInt32LE(pkt.origLen ?? pkt.data.length, 12);
    parts.push(rec, Buffer.from(pkt.data.buffer, pkt.data.byteOffset, pkt.data.length));
  });
  return Buffer.concat(parts);
}

let tempDir: string | undefined;
let tempCount = 0;

/** Deletes the temporary pcap files written so far; test files call it in `afterAll`. */
export function removeTempPcaps(): void {
  if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
  tempDir = undefined;
}

/** Writes packets to a new temporary pcap file and returns its path (see {@link removeTempPcaps}). */
export function writeTempPcap(linkType: number, packets: ReadonlyArray<Uint8Array | TestPacket>): string {
  if (tempDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "pcapfleet-synth-"));
    tempDir = dir;
  }
  const file = join(tempDir, `test-${++tempCount}.pcap`);
  writeFileSync(file, pcapBytes(linkType, packets));
  return file;
}

/** tshark preferences that make it verify every checksum it knows. */
export const CHECKSUM_PREFS = [
  "ip.check_checksum:TRUE",
  "tcp.check_checksum:TRUE",
  "udp.check_checksum:TRUE",
];

/** Preferences that make tshark dissect each packet on its own (no reassembly), like the decoder. */
export const NO_REASSEMBLY_PREFS = [
  "tcp.desegment_tcp_streams:FALSE",
  "ip.defragment:FALSE",
  "ipv6.defragment:FALSE",
];

/**
 * Runs `tshark -T fields` on `file` and returns one row per packet, one cell per field
 * (several occurrences joined by ',').
 */
export function tsharkFields(
  file: string,
  fields: readonly string[],
  opts: { prefs?: readonly string[]; filter?: string; twoPass?: boolean } = {},
): string[][] {
  const args = [
    "-r",
    file,
    "-n",
    "-T",
    "fields",
    "-E",
    "separator=\t",
    "-E",
    "occurrence=a",
    "-E",
    "aggregator=,",
  ];
  for (const p of opts.prefs ?? []) args.push("-o", p);
  if (opts.twoPass === true) args.push("-2");
  if (opts.filter !== undefined) args.push("-Y", opts.filter);
  for (const f of fields) args.push("-e", f);
  const out = execFileSync("tshark", args, {
    encoding: "utf8",
    maxBuffer: 1 << 28,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return out
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.split("\t"));
}
