/**
 * A finished key family: keys sorted ascending (so a host, a net or a port range is one binary
 * search and a contiguous run), per key its packet count, whether it is dense, and its posting
 * list. Built and loaded indexes share this shape; loaded ones point into the file's bytes.
 */
import type { PostingTable } from "./posting-table.js";
import { decodeDeltas } from "./varint.js";

/** One key space of the index (IPv4 addresses, IPv6 addresses, ports, protocols, VLAN ids). */
export interface KeyFamily {
  /** uint32 words per key: 1, or 4 for IPv6. */
  readonly words: number;
  /** Number of keys (stored and dense). */
  readonly size: number;
  /** `size * words` words, ascending (IPv6 compared word by word, i.e. as bytes). */
  readonly keys: Uint32Array;
  /** Packets carrying each key. */
  readonly counts: Uint32Array;
  /** 1 where the key is dense: present in so many packets that its list is not stored. */
  readonly dense: Uint8Array;
  /**
   * `size + 1` positions: key i's list is `postings[offsets[i], offsets[i + 1])`; empty for a
   * dense key whose list is not kept (a stored list is never empty).
   */
  readonly offsets: Uint32Array;
  /** Concatenated delta-varint posting lists. */
  readonly postings: Uint8Array;
}

/** The sorted keys of a family, all a key search needs. */
export type KeyTable = Pick<KeyFamily, "words" | "size" | "keys">;

/** An empty family of `words`-word keys. */
export function emptyFamily(words: number): KeyFamily {
  return {
    words,
    size: 0,
    keys: new Uint32Array(0),
    counts: new Uint32Array(0),
    dense: new Uint8Array(0),
    offsets: new Uint32Array(1),
    postings: new Uint8Array(0),
  };
}

/**
 * Sorts a table's keys and marks dense those in more than `packets / divisor` packets. Lists
 * are stored for sparse keys, and also for dense keys in at most twice that share while their
 * list is complete: a growing file's key often drifts across the threshold, and a dense key
 * without its list that turns sparse again forces a full rebuild. Lookups ignore the lists of
 * dense keys. Returns undefined when a key without a list (a headless one, see
 * {@link PostingTable.seed}) has become sparse: only a full rebuild can list its early packets.
 */
export function finishFamily(table: PostingTable, packets: number, divisor: number): KeyFamily | undefined {
  const words = table.words;
  const ids = Array.from({ length: table.size }, (_, id) => id);
  ids.sort((a, b) => compareWords(table.keyWords(a), 0, table.keyWords(b), 0, words));
  const keys = new Uint32Array(ids.length * words);
  const counts = new Uint32Array(ids.length);
  const dense = new Uint8Array(ids.length);
  const offsets = new Uint32Array(ids.length + 1);
  const stored = new Uint8Array(ids.length);
  let total = 0;
  for (const [i, id] of ids.entries()) {
    const count = table.count(id);
    keys.set(table.keyWords(id), i * words);
    counts[i] = count;
    const isDense = count * divisor > packets;
    if (!isDense && table.isHeadless(id)) return undefined;
    dense[i] = isDense ? 1 : 0;
    stored[i] = !table.isHeadless(id) && count * divisor <= packets * 2 ? 1 : 0;
    offsets[i] = total;
    if (stored[i] === 1) total += table.stream(id).length;
  }
  offsets[ids.length] = total;
  const postings = new Uint8Array(total);
  for (const [i, id] of ids.entries()) {
    if (stored[i] === 1) postings.set(table.stream(id), offsets[i] as number);
  }
  return { words, size: ids.length, keys, counts, dense, offsets, postings };
}

/** Lexicographic comparison of two `words`-word keys. */
export function compareWords(a: Uint32Array, ai: number, b: Uint32Array, bi: number, words: number): number {
  for (let w = 0; w < words; w++) {
    const d = (a[ai + w] as number) - (b[bi + w] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/** Index of the first key >= `key` (or > `key` when `after`), or `size` when there is none. */
export function searchKey(family: KeyTable, key: Uint32Array, after: boolean): number {
  let lo = 0;
  let hi = family.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareWords(family.keys, mid * family.words, key, 0, family.words);
    if (c < 0 || (after && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Keys in `[low, high]` (inclusive bounds) as the index range `[from, to)`. */
export function keyRange(family: KeyTable, low: Uint32Array, high: Uint32Array): [number, number] {
  return [searchKey(family, low, false), searchKey(family, high, true)];
}

/** Decodes key `i`'s postings into `out` from `at`; returns the index after the last offset. */
export function decodeKey(family: KeyFamily, i: number, out: Float64Array, at: number): number {
  return decodeDeltas(family.postings, family.offsets[i] as number, family.offsets[i + 1] as number, out, at);
}

/** Number of stored and dense keys of a family, for statistics. */
export function familyCounts(family: KeyFamily): { keys: number; dense: number } {
  let dense = 0;
  for (let i = 0; i < family.size; i++) dense += family.dense[i] as number;
  return { keys: family.size, dense };
}
