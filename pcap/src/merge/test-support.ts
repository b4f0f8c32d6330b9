/**
 * Helpers for the merge tests: synthetic capture files in every input shape a merge meets
 * (classic µs/ns, pcapng, other link types, forced timestamp ties), reading a capture back, and
 * running the reference, mergecap.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { createPcapngWriter, createPcapWriter, openCapture } from "../format/index.js";
import { collect, type RecordCopy, run } from "../format/testing.js";
import { generateTraffic } from "../synth/index.js";
import { LinkType } from "../types.js";

/** Shape of one synthetic input file. */
export interface SynthFile {
  /** PRNG seed of the traffic. */
  seed: number;
  /** Packets in the file. */
  packets: number;
  /** First timestamp, seconds (default 1_700_000_000) and nanoseconds (default 0). */
  startSec?: number;
  startNsec?: number;
  /** Mean packet rate (default 2000 pps). */
  ratePps?: number;
  /** Link type (default Ethernet). */
  linkType?: number;
  /** Container (default classic pcap). */
  format?: "pcap" | "pcapng";
  /** Classic nanosecond file (default µs). */
  nanosecond?: boolean;
  /** Round timestamps down to a multiple of this many ns, so inputs share timestamps. */
  quantumNs?: number;
  /** Snapshot length of the traffic (default: whole packets). */
  snaplen?: number;
}

/** Writes a synthetic capture to `path` with the engine's writers and returns the path. */
export async function writeSynth(path: string, spec: SynthFile): Promise<string> {
  const linkType = spec.linkType ?? LinkType.ETHERNET;
  const traffic = generateTraffic({
    seed: spec.seed,
    packets: spec.packets,
    ratePps: spec.ratePps ?? 2000,
    linkType,
    start: { sec: spec.startSec ?? 1_700_000_000, nsec: spec.startNsec ?? 0 },
    ...(spec.snaplen === undefined ? {} : { snaplen: spec.snaplen }),
  });
  const q = spec.quantumNs ?? 1;
  const floor = (nsec: number): number => Math.floor(nsec / q) * q;
  if (spec.format === "pcapng") {
    const writer = await createPcapngWriter(path, { interfaces: [{ linkType }] });
    for (const p of traffic) {
      writer.writePacket(0, p.data, 0, p.data.length, p.origLen, p.tsSec, floor(p.tsNsec));
    }
    await writer.close();
    return path;
  }
  const writer = await createPcapWriter(path, { linkType, nanosecond: spec.nanosecond ?? false });
  for (const p of traffic) writer.writePacket(p.data, 0, p.data.length, p.origLen, p.tsSec, floor(p.tsNsec));
  await writer.close();
  return path;
}

/** Writes each spec as `in<i>.<ext>` under `dir`; returns the paths in order. */
export function writeInputs(dir: string, specs: readonly SynthFile[]): Promise<string[]> {
  return Promise.all(
    specs.map((spec, i) =>
      writeSynth(join(dir, `in${i}.${spec.format === "pcapng" ? "pcapng" : "pcap"}`), spec),
    ),
  );
}

/** Every record of a capture file. */
export async function readRecords(path: string): Promise<RecordCopy[]> {
  const reader = await openCapture(path);
  try {
    return await collect(reader);
  } finally {
    await reader.close();
  }
}

/** Runs `mergecap -w out [-F format] inputs...` and returns `out`. */
export async function mergecap(out: string, inputs: readonly string[], format?: string): Promise<string> {
  await run("mergecap", [...(format === undefined ? [] : ["-F", format]), "-w", out, ...inputs]);
  return out;
}

/** What must be equal between two merges: time, lengths, link type and bytes, in order. */
function key(r: RecordCopy): string {
  return `${r.tsSec}.${String(r.tsNsec).padStart(9, "0")} ${r.caplen}/${r.origLen} lt${r.linkType} ${r.data.toString("hex")}`;
}

/** Asserts the same record sequence, reporting the first difference instead of a huge diff. */
export function expectSameRecords(ours: readonly RecordCopy[], reference: readonly RecordCopy[]): void {
  let first = -1;
  for (let i = 0; i < Math.max(ours.length, reference.length) && first < 0; i++) {
    const a = ours[i];
    const b = reference[i];
    if (a === undefined || b === undefined || key(a) !== key(b)) first = i;
  }
  const show = (r: RecordCopy | undefined): string => (r === undefined ? "(none)" : key(r).slice(0, 160));
  const where =
    first < 0
      ? ""
      : `#${first}: ours ${show(ours[first])} / reference ${show(reference[first])} ` +
        `(${ours.length} vs ${reference.length} records)`;
  expect(first, where).toBe(-1);
}

/** True when the two files hold the same bytes. */
export async function sameBytes(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([readFile(a), readFile(b)]);
  return x.equals(y);
}

/**
 * Copies a classic pcap and corrupts the caplen of record `index` (0-based); returns the file
 * offset of that record and the length of the file up to it (its valid prefix).
 */
export async function corruptRecord(
  source: string,
  target: string,
  index: number,
): Promise<{ offset: number; prefix: string }> {
  const bytes = Buffer.from(await readFile(source));
  let at = 24;
  for (let i = 0; i < index; i++) at += 16 + bytes.readUInt32LE(at + 8);
  bytes.writeUInt32LE(0x7fff_ffff, at + 8);
  await writeFile(target, bytes);
  const prefix = `${target}.prefix`;
  await writeFile(prefix, bytes.subarray(0, at));
  return { offset: at, prefix };
}
