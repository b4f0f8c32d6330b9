/**
 * Helpers for tests of the format layer and of code built on it: copying records out of the
 * reused cursor, temporary directories, and running the real capture tools for parity checks.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LinkType, type PacketRecord } from "../types.js";
import type { CaptureReader } from "./capture-reader.js";
import {
  type FixtureInterface,
  type FixtureNgPacket,
  type FixtureSection,
  pcapngTime,
  pcapngUnits,
  samplePackets,
  simpleCaplen,
} from "./fixtures.js";

/** A record copied out of a reader, with its own copy of the bytes. */
export interface RecordCopy {
  /** Packet bytes. */
  data: Buffer;
  /** Captured length. */
  caplen: number;
  /** Original length. */
  origLen: number;
  /** Seconds. */
  tsSec: number;
  /** Nanoseconds. */
  tsNsec: number;
  /** LINKTYPE_*. */
  linkType: number;
  /** pcapng interface id. */
  interfaceId: number;
  /** Record offset in the file. */
  fileOffset: number;
  /** Record length in the file. */
  recordLength: number;
}

/** Copies the reader's cursor into a standalone object (tests only: it allocates). */
export function copyRecord(rec: PacketRecord): RecordCopy {
  return {
    data: Buffer.from(rec.buf.subarray(rec.dataOffset, rec.dataOffset + rec.caplen)),
    caplen: rec.caplen,
    origLen: rec.origLen,
    tsSec: rec.tsSec,
    tsNsec: rec.tsNsec,
    linkType: rec.linkType,
    interfaceId: rec.interfaceId,
    fileOffset: rec.fileOffset,
    recordLength: rec.recordLength,
  };
}

/** Reads every remaining record, through `readBatch` (default) or `next`. */
export async function collect(reader: CaptureReader, via: "batch" | "next" = "batch"): Promise<RecordCopy[]> {
  const out: RecordCopy[] = [];
  if (via === "next") {
    for (let rec = await reader.next(); rec !== null; rec = await reader.next()) out.push(copyRecord(rec));
    return out;
  }
  while ((await reader.readBatch((rec) => out.push(copyRecord(rec)))) > 0) {
    // readBatch did the work; loop until it reports the end.
  }
  return out;
}

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "pcapfleet-format-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs a program and returns its stdout; rejects with its stderr on a non-zero exit. */
export function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(" ")}: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/** One packet as tshark reports it. */
export interface TsharkFrame {
  /** Seconds of frame.time_epoch. */
  tsSec: number;
  /** Nanoseconds of frame.time_epoch (its 9 decimals, exactly, without float parsing). */
  tsNsec: number;
  /** frame.len. */
  origLen: number;
  /** frame.cap_len. */
  caplen: number;
  /** frame.protocols, e.g. "eth:ethertype:data". */
  protocols: string;
  /** frame.encap_type (Wireshark's encapsulation number); empty for non-packet records. */
  encapType: string;
}

/**
 * Reads a capture with tshark, one entry per record. tshark also lists copyable pcapng Custom
 * Blocks as records; they have an empty {@link TsharkFrame.encapType}.
 */
export async function tsharkFrames(path: string): Promise<TsharkFrame[]> {
  const fields = ["frame.time_epoch", "frame.len", "frame.cap_len", "frame.protocols", "frame.encap_type"];
  const args = ["-n", "-r", path, "-T", "fields", "-E", "separator=|"];
  for (const field of fields) args.push("-e", field);
  const stdout = await run("tshark", args);
  return stdout
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => {
      const [epoch = "", len = "", cap = "", protocols = "", encapType = ""] = line.split("|");
      const [sec = "0", frac = ""] = epoch.split(".");
      return {
        tsSec: Number(sec),
        tsNsec: Number(frac.padEnd(9, "0").slice(0, 9)),
        origLen: Number(len),
        caplen: Number(cap),
        protocols,
        encapType,
      };
    });
}

/** Two sections of opposite byte order, four interfaces, every packet block kind, skippable blocks. */
export function richSections(): FixtureSection[] {
  const a = samplePackets(60, { seed: 3 });
  const b = samplePackets(40, { seed: 4, startSec: 1_800_000_000 });
  const first: FixtureNgPacket[] = a.map((p, i) => ({
    ...p,
    interfaceId: i % 3,
    block: i % 10 === 4 ? "spb" : i % 10 === 7 ? "pb" : "epb",
    ...(i % 5 === 0 ? { comment: `packet ${i}` } : {}),
  }));
  return [
    {
      littleEndian: true,
      unknownBlocks: true,
      interfaces: [
        { linkType: LinkType.ETHERNET },
        { linkType: LinkType.RAW, tsresol: 9, snaplen: 65_535 },
        { linkType: LinkType.LINUX_SLL, tsresol: 0x80 | 30, tsoffset: 1000 },
      ],
      packets: first,
    },
    {
      littleEndian: false,
      unknownBlocks: true,
      lateInterfaces: true,
      interfaces: [
        { linkType: LinkType.IPV4, tsresol: 3 },
        { linkType: LinkType.ETHERNET, tsresol: 0x80 | 20 },
      ],
      packets: b.map((p, i) => ({ ...p, interfaceId: i % 2 })),
    },
  ];
}

/** A record without its position in the file. */
export type ExpectedRecord = Omit<RecordCopy, "fileOffset" | "recordLength">;

/** What a reader must return for each packet of `sections` (BigInt reference timestamps). */
export function expectedRecords(sections: readonly FixtureSection[]): ExpectedRecord[] {
  const out: ExpectedRecord[] = [];
  let last = { tsSec: 0, tsNsec: 0 };
  for (const section of sections) {
    for (const p of section.packets) {
      const id = p.block === "spb" ? 0 : (p.interfaceId ?? 0);
      const iface = section.interfaces[id] as FixtureInterface;
      const caplen = p.block === "spb" ? simpleCaplen(p, iface) : p.data.length;
      if (p.block !== "spb") last = pcapngTime(pcapngUnits(p.tsSec, p.tsNsec, iface), iface);
      const data = Buffer.alloc(caplen);
      p.data.copy(data, 0, 0, caplen);
      const origLen = p.origLen ?? p.data.length;
      out.push({ data, caplen, origLen, ...last, linkType: iface.linkType, interfaceId: id });
    }
  }
  return out;
}
