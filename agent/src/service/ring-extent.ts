/**
 * What time a store holds, file by file, from the catalogue and the index headers only: the
 * first packet of each file (catalogued), its last (index header), and from those the store's
 * range, the coverage of a window, and which files a window touches. A file the index does not
 * fully describe (no index yet, or grown past it) gets an upper bound for its last packet, so
 * a window is never called empty while a file may still hold packets of it.
 */
import type { BlockTable, CaptureFile, IndexHeader, Instant } from "@pcapfleet/pcap";
import { openIndexView, REORDER_SLACK_S } from "@pcapfleet/pcap";
import { Coverage } from "@pcapfleet/proto";

/** Nanoseconds per second, as a bigint. */
export const NS = 1_000_000_000n;

/** An instant as nanoseconds since the epoch. */
export function toNs(instant: Instant): bigint {
  return BigInt(instant.sec) * NS + BigInt(instant.nsec);
}

/** Nanoseconds since the epoch (not negative) as an instant. */
export function toInstant(ns: bigint): Instant {
  return { sec: Number(ns / NS), nsec: Number(ns % NS) };
}

/** Nanoseconds since the epoch as RFC 3339 with nanoseconds: "2023-11-14T22:13:20.000000001Z". */
export function formatNs(ns: bigint): string {
  const sec = ns / NS;
  const date = new Date(Number(sec) * 1000).toISOString().replace(/\.\d{3}Z$/, "");
  return `${date}.${String(ns % NS).padStart(9, "0")}Z`;
}

/** The parts of an index file an extent and an estimate read: its header and time blocks. */
export interface IndexMeta {
  readonly header: IndexHeader;
  readonly blocks: BlockTable;
}

/** One capture file's time span. */
export interface FileSpan {
  readonly file: CaptureFile;
  /** First packet, ns. */
  readonly first: bigint;
  /** Last packet, ns: exact when {@link FileSpan.exact}, else an upper bound. */
  readonly last: bigint;
  /** True when the index describes the whole file (as catalogued). */
  readonly exact: boolean;
  /** The index meta part, when there is a usable index. */
  readonly meta: IndexMeta | undefined;
}

/** The store's packets: first and last instant (ns); undefined when it holds none. */
export interface StoreRange {
  readonly oldest: bigint;
  readonly newest: bigint;
}

/** Reads the meta part of `file`'s index; undefined when there is no usable one. */
export async function readIndexMeta(stateDir: string, file: CaptureFile): Promise<IndexMeta | undefined> {
  // An unreadable index is no index, as for a slice: the file is estimated from its size.
  const view = await openIndexView(stateDir, file.path).catch(() => undefined);
  if (view === undefined) return undefined;
  try {
    return { header: view.header, blocks: view.blocks };
  } finally {
    await view.close();
  }
}

/**
 * The span of every file holding packets, in catalogue order. A file's last packet comes from
 * its index when the index covers it whole; otherwise it is bounded by the first packet of the
 * next file of the same directory (ring writers rotate in capture order) plus the reorder
 * slack, or, for the newest file of a directory (the one being written), by its mtime.
 */
export async function fileSpans(files: readonly CaptureFile[], stateDir: string): Promise<FileSpan[]> {
  const withPackets = files.filter((file) => file.first !== undefined);
  const metas = await Promise.all(withPackets.map((file) => readIndexMeta(stateDir, file)));
  const nextFirst = nextInDirectory(withPackets);
  return withPackets.map((file, i) => {
    const first = toNs(file.first as Instant);
    const meta = metas[i];
    const header = meta?.header;
    const indexedLast = header === undefined || header.packets === 0 ? first : maxOf(header);
    if (header !== undefined && header.indexedEnd >= file.size) {
      return { file, first, last: bigMax(first, indexedLast), exact: true, meta };
    }
    const next = nextFirst[i];
    const bound =
      next === undefined ? BigInt(Math.ceil(file.mtimeMs)) * 1_000_000n : next + BigInt(REORDER_SLACK_S) * NS;
    return { file, first, last: bigMax(first, bigMax(indexedLast, bound)), exact: false, meta };
  });
}

/** The store's range over `spans`; undefined when there are none. */
export function storeRange(spans: readonly FileSpan[]): StoreRange | undefined {
  let range: StoreRange | undefined;
  for (const span of spans) {
    range =
      range === undefined
        ? { oldest: span.first, newest: span.last }
        : { oldest: bigMin(range.oldest, span.first), newest: bigMax(range.newest, span.last) };
  }
  return range;
}

/** Spans that may hold packets of `[from, to)`. */
export function overlapping(spans: readonly FileSpan[], from: bigint, to: bigint): FileSpan[] {
  return spans.filter((span) => span.first < to && span.last >= from);
}

/**
 * How much of `[from, to)` the store holds: covered when the window lies inside
 * [oldest, newest]; partly covered when it reaches over either end; aged out when it ends
 * before the oldest packet; no data when the store is empty or the window starts after the
 * newest packet (the future, or a sensor that stopped capturing).
 */
export function coverageOf(range: StoreRange | undefined, from: bigint, to: bigint): Coverage {
  if (range === undefined || from > range.newest) return Coverage.NO_DATA;
  if (to <= range.oldest) return Coverage.AGED_OUT;
  if (from >= range.oldest && to <= range.newest + 1n) return Coverage.COVERED;
  return Coverage.PARTLY_COVERED;
}

/** "the store holds A – B" (or "holds no packets"), for messages. */
export function describeRange(range: StoreRange | undefined): string {
  return range === undefined
    ? "the store holds no packets"
    : `the store holds ${formatNs(range.oldest)} – ${formatNs(range.newest)}`;
}

function maxOf(header: IndexHeader): bigint {
  return BigInt(header.maxSec) * NS + BigInt(header.maxNsec);
}

/** For each file, the first packet of the next file (by first packet) in the same directory. */
function nextInDirectory(files: readonly CaptureFile[]): (bigint | undefined)[] {
  const out: (bigint | undefined)[] = new Array(files.length).fill(undefined);
  const seen = new Map<string, bigint>();
  // Catalogue order is by first packet: walking backwards, the last one seen is the next one.
  for (let i = files.length - 1; i >= 0; i--) {
    const file = files[i] as CaptureFile;
    const dir = directoryOf(file.path);
    out[i] = seen.get(dir);
    seen.set(dir, toNs(file.first as Instant));
  }
  return out;
}

function directoryOf(path: string): string {
  const at = path.lastIndexOf("/");
  return at < 0 ? "" : path.slice(0, at);
}

function bigMax(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function bigMin(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
