/**
 * Names of the files a capture writes: `PREFIX-YYYYMMDDTHHMMSSZ-SEQ.pcap`. The time is the first
 * packet's (UTC), SEQ grows by one per file and continues across restarts, so it orders a ring
 * even when the clock jumps. Retention only ever touches names that parse here.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

/** Digits of the sequence number in new names (longer numbers still parse). */
const SEQ_DIGITS = 6;

/** A file of a ring, as retention sees it. */
export interface RingFile {
  readonly path: string;
  readonly seq: number;
  readonly sizeBytes: number;
  /** Last write: the time of (about) its newest packet. */
  readonly mtimeMs: number;
}

/** The file name for a ring file whose first packet is at `tsSec` (epoch seconds). */
export function ringFileName(prefix: string, tsSec: number, seq: number): string {
  const iso = new Date(Math.floor(tsSec) * 1000).toISOString(); // 2024-05-01T12:34:56.000Z
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return `${prefix}-${stamp}-${String(seq).padStart(SEQ_DIGITS, "0")}.pcap`;
}

/** The sequence number of a file this prefix wrote, or undefined for any other name. */
export function ringFileSeq(prefix: string, name: string): number | undefined {
  if (!name.startsWith(`${prefix}-`)) return undefined;
  const match = /^(\d{8}T\d{6}Z)-(\d{1,15})\.pcap$/.exec(name.slice(prefix.length + 1));
  return match === null ? undefined : Number(match[2]);
}

/**
 * The files of a ring in `dir`, oldest (lowest sequence) first. Files that vanish while being
 * listed are left out; other names in the directory are never returned.
 */
export async function listRingFiles(dir: string, prefix: string): Promise<RingFile[]> {
  const names = await readdir(dir);
  const files: RingFile[] = [];
  for (const name of names) {
    const seq = ringFileSeq(prefix, name);
    if (seq === undefined) continue;
    const path = join(dir, name);
    try {
      const info = await stat(path);
      if (info.isFile()) files.push({ path, seq, sizeBytes: info.size, mtimeMs: info.mtimeMs });
    } catch {
      // Deleted meanwhile (by an operator, or another retention pass): nothing to do.
    }
  }
  return files.sort((a, b) => a.seq - b.seq);
}

/** The sequence number the next file of a ring gets: one past the highest in `dir`. */
export async function nextRingSeq(dir: string, prefix: string): Promise<number> {
  let next = 0;
  for (const name of await readdir(dir)) {
    const seq = ringFileSeq(prefix, name);
    if (seq !== undefined && seq >= next) next = seq + 1;
  }
  return next;
}
