/**
 * The reference a slice must equal, computed with the real tools: `mergecap -w all <files>`, then
 * `tcpdump -r all -w out EXPR` (nanosecond precision, so no timestamp is cut), then the packets
 * of tcpdump's output with from <= ts < to. Records are compared on (ts, caplen, origLen, bytes).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { compareInstant, type Instant, openCaptureBuffer } from "@pcapfleet/pcap";

const run = promisify(execFile);

/** One packet, reduced to what a slice must preserve. */
export interface RecordKey {
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly caplen: number;
  readonly origLen: number;
  /** SHA-1 of the packet bytes. */
  readonly sha1: string;
}

/** The packet records of a capture held in memory. */
export async function readRecords(bytes: Uint8Array): Promise<RecordKey[]> {
  const reader = await openCaptureBuffer(bytes);
  const out: RecordKey[] = [];
  while (
    (await reader.readBatch((rec) => {
      out.push({
        tsSec: rec.tsSec,
        tsNsec: rec.tsNsec,
        caplen: rec.caplen,
        origLen: rec.origLen,
        sha1: createHash("sha1")
          .update(rec.buf.subarray(rec.dataOffset, rec.dataOffset + rec.caplen))
          .digest("hex"),
      });
    })) > 0
  ) {
    // readBatch visits a chunk per call.
  }
  await reader.close();
  return out;
}

/** A record as one comparable line: "sec.nsec caplen/origLen sha1". */
export function line(rec: RecordKey): string {
  return `${rec.tsSec}.${String(rec.tsNsec).padStart(9, "0")} ${rec.caplen}/${rec.origLen} ${rec.sha1}`;
}

/** Keeps the records with from <= ts < to (either bound may be absent). */
export function inWindow(records: readonly RecordKey[], from?: Instant, to?: Instant): RecordKey[] {
  return records.filter((rec) => {
    const ts = { sec: rec.tsSec, nsec: rec.tsNsec };
    return (
      (from === undefined || compareInstant(ts, from) >= 0) &&
      (to === undefined || compareInstant(ts, to) < 0)
    );
  });
}

/** mergecap + tcpdump for one store, the merge done once. */
export class Reference {
  private merged: Promise<string> | undefined;
  private count = 0;

  /** A reference over `files` (in the slice's merge order), working in `work`. */
  constructor(
    private readonly files: readonly string[],
    private readonly work: string,
  ) {}

  /** Every packet of the store that `expression` matches, in mergecap's order. */
  async matching(expression: string): Promise<RecordKey[]> {
    const merged = await this.merge();
    const out = join(this.work, `ref-${this.count++}.pcap`);
    const args = ["--time-stamp-precision=nano", "-r", merged, "-w", out];
    if (expression !== "") args.push(expression);
    await run("tcpdump", args);
    return readRecords(await readFile(out));
  }

  private merge(): Promise<string> {
    this.merged ??= (async () => {
      const path = join(this.work, "merged.pcap");
      await run("mergecap", ["-F", "nsecpcap", "-w", path, ...this.files]);
      return path;
    })();
    return this.merged;
  }
}
