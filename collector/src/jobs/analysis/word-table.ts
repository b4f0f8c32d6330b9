/**
 * A {@link BoundedTable} keyed by up to `words` uint32 words (an IPv6 address pair with ports
 * fits in ten), in an open-addressing hash with linear probing. The caller writes the key into
 * {@link WordTable.key} and calls {@link WordTable.find}: no string, no object per packet, IPv4
 * and IPv6 alike. A key may use fewer words (an IPv4 pair needs four): lookups then hash and
 * compare only those, which is most of their cost. Deletion (eviction) shifts entries back, so
 * no tombstones build up.
 */
import { BoundedTable } from "./bounded-table.js";

/** Counters keyed by `words` uint32 words. */
export class WordTable extends BoundedTable {
  /** Words per key. */
  readonly words: number;
  /** Scratch key: write its words, then call {@link find}. */
  readonly key: Uint32Array;
  private keys: Uint32Array;
  private hashes: Int32Array;
  /** Slot + 1 per bucket, 0 when empty; at least twice the capacity, a power of two. */
  private index: Int32Array;

  /** A table of `stride` counters per key of `words` words, holding at most `maxKeys` keys. */
  constructor(words: number, stride: number, maxKeys: number) {
    super(maxKeys, stride);
    this.words = words;
    this.key = new Uint32Array(words);
    this.keys = new Uint32Array(this.capacity * words);
    this.hashes = new Int32Array(this.capacity);
    this.index = new Int32Array(indexSize(this.capacity));
  }

  /**
   * The slot of the key in the first `words` words of {@link key}, created (maybe by eviction)
   * when absent; see `created`. Keys of different lengths must differ in their first word (the
   * analyser puts the address family there); the words of a shorter key read back as 0 beyond it.
   */
  find(words: number = this.words): number {
    const key = this.key;
    const h = hashWords(key, words);
    const index = this.index;
    const mask = index.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = index[i] as number;
      if (s === 0) break;
      const slot = s - 1;
      if (this.hashes[slot] === h && this.matches(slot, words)) {
        this.created = false;
        return slot;
      }
    }
    // Claiming may evict or grow, both of which move buckets: probe again afterwards.
    const slot = this.claim();
    const keys = this.keys;
    const base = slot * this.words;
    for (let w = 0; w < this.words; w++) keys[base + w] = w < words ? (key[w] as number) : 0;
    this.hashes[slot] = h;
    this.place(slot);
    return slot;
  }

  /** Word `w` of the key in `slot`. */
  keyWord(slot: number, w: number): number {
    return this.keys[slot * this.words + w] as number;
  }

  /** Orders two slots by their key words (unsigned), for deterministic output. */
  compareKeys(a: number, b: number): number {
    const keys = this.keys;
    for (let w = 0; w < this.words; w++) {
      const d = (keys[a * this.words + w] as number) - (keys[b * this.words + w] as number);
      if (d !== 0) return d;
    }
    return 0;
  }

  private matches(slot: number, words: number): boolean {
    const key = this.key;
    const keys = this.keys;
    const base = slot * this.words;
    for (let w = 0; w < words; w++) if (keys[base + w] !== key[w]) return false;
    return true;
  }

  private place(slot: number): void {
    const index = this.index;
    const mask = index.length - 1;
    let i = (this.hashes[slot] as number) & mask;
    while (index[i] !== 0) i = (i + 1) & mask;
    index[i] = slot + 1;
  }

  protected override forget(slot: number): void {
    const index = this.index;
    const mask = index.length - 1;
    let i = (this.hashes[slot] as number) & mask;
    while (index[i] !== slot + 1) i = (i + 1) & mask;
    // Backward shift: pull later entries of the probe run into the hole when their home
    // bucket does not lie cyclically in (hole, position].
    for (let j = (i + 1) & mask; index[j] !== 0; j = (j + 1) & mask) {
      const home = (this.hashes[(index[j] as number) - 1] as number) & mask;
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (stays) continue;
      index[i] = index[j] as number;
      i = j;
    }
    index[i] = 0;
  }

  protected override resize(capacity: number): void {
    const keys = new Uint32Array(capacity * this.words);
    keys.set(this.keys);
    this.keys = keys;
    const hashes = new Int32Array(capacity);
    hashes.set(this.hashes);
    this.hashes = hashes;
    if (this.index.length < indexSize(capacity)) {
      this.index = new Int32Array(indexSize(capacity));
      for (let slot = 0; slot < this.size; slot++) this.place(slot);
    }
  }
}

/** Buckets for `capacity` keys: a power of two keeping the load at most one half. */
function indexSize(capacity: number): number {
  let n = 16;
  while (n < capacity * 2) n *= 2;
  return n;
}

/** MurmurHash3's x86_32 mixing over whole words: cheap, and spreads addresses that differ in one byte. */
function hashWords(key: Uint32Array, words: number): number {
  let h = 0x9747b28c;
  for (let w = 0; w < words; w++) {
    let k = Math.imul(key[w] as number, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= words;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
