/**
 * Build-time storage of one key family: an open-addressing hash of keys (1 or 4 uint32 words)
 * to dense ids, and per id a growing stream of varint-encoded offset deltas. Everything is
 * typed arrays indexed by id, so recording a posting allocates nothing except when a stream
 * or the table doubles (amortised, not per packet).
 */
import type { KeyFamily } from "./key-family.js";
import { appendVarint, sumDeltas } from "./varint.js";

const INITIAL_STREAM = 16;
/** A varint of an offset below 2^56 never takes more than 8 bytes. */
const MAX_VARINT = 8;

/** Keys of one family being collected during a scan. */
export class PostingTable {
  /** Words per key: 1 (IPv4, port, protocol, VLAN) or 4 (IPv6). */
  readonly words: number;
  /** Number of keys seen. */
  size = 0;
  private keys: Uint32Array;
  private counts: Uint32Array;
  private last: Float64Array;
  private lengths: Uint32Array;
  /** 1 for dense keys a previous index kept no list for: only their count is known (see seed). */
  private headless: Uint8Array;
  private streams: Uint8Array[] = [];
  private slots: Int32Array;
  private shift: number;

  /** An empty table for keys of `words` uint32 words. */
  constructor(words: 1 | 4) {
    this.words = words;
    const capacity = 64;
    this.keys = new Uint32Array(capacity * words);
    this.counts = new Uint32Array(capacity);
    this.last = new Float64Array(capacity);
    this.lengths = new Uint32Array(capacity);
    this.headless = new Uint8Array(capacity);
    this.slots = new Int32Array(capacity * 2);
    this.shift = 32 - Math.log2(capacity * 2);
  }

  /** Records `offset` for the one-word key `k`; a second call for the same packet is ignored. */
  add1(k: number, offset: number): void {
    this.post(this.id1(k), offset);
  }

  /**
   * Records `offset` for the four-word key read big-endian from `buf` at `at`, of which only
   * the first `present` words are read; the others count as zero (a cut IPv6 address).
   */
  add4(buf: Uint8Array, at: number, present: number, offset: number): void {
    const w1 = present > 1 ? word(buf, at + 4) : 0;
    const w2 = present > 2 ? word(buf, at + 8) : 0;
    const w3 = present > 3 ? word(buf, at + 12) : 0;
    this.post(this.id4(word(buf, at), w1, w2, w3), offset);
  }

  /** The id of one-word key `k`, created when new. */
  id1(k: number): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    for (let i = hash1(k) >>> this.shift; ; i = (i + 1) & mask) {
      const slot = slots[i] as number;
      if (slot === 0) {
        const id = this.insert();
        this.keys[id] = k;
        this.placed(i, id);
        return id;
      }
      if (this.keys[slot - 1] === k) return slot - 1;
    }
  }

  /** The id of the four-word key (w0, w1, w2, w3), created when new. */
  id4(w0: number, w1: number, w2: number, w3: number): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    for (let i = hash4(w0, w1, w2, w3) >>> this.shift; ; i = (i + 1) & mask) {
      const slot = slots[i] as number;
      if (slot === 0) {
        const id = this.insert();
        // Read the field after insert: growing replaces the arrays.
        const keys = this.keys;
        const k = id * 4;
        keys[k] = w0;
        keys[k + 1] = w1;
        keys[k + 2] = w2;
        keys[k + 3] = w3;
        this.placed(i, id);
        return id;
      }
      const keys = this.keys;
      const k = (slot - 1) * 4;
      if (keys[k] === w0 && keys[k + 1] === w1 && keys[k + 2] === w2 && keys[k + 3] === w3) return slot - 1;
    }
  }

  /** Occurrence count of key id `id` (packets that carry it). */
  count(id: number): number {
    return this.counts[id] as number;
  }

  /**
   * Continues from a previous index's family: keys with a stored list get it back, dense keys
   * without one only their count (marked headless: should one become sparse, its early postings
   * are unknown and the build must start over).
   */
  seed(family: KeyFamily): void {
    const keys = family.keys;
    for (let i = 0; i < family.size; i++) {
      const at = i * this.words;
      const id =
        this.words === 1
          ? this.id1(keys[at] as number)
          : this.id4(
              keys[at] as number,
              keys[at + 1] as number,
              keys[at + 2] as number,
              keys[at + 3] as number,
            );
      this.counts[id] = family.counts[i] as number;
      const start = family.offsets[i] as number;
      const end = family.offsets[i + 1] as number;
      if (start === end) {
        // Dense without a stored list (every stored list has at least one byte).
        this.headless[id] = 1;
        continue;
      }
      const stream = new Uint8Array(Math.max(INITIAL_STREAM, (end - start) * 2));
      stream.set(family.postings.subarray(start, end));
      this.streams[id] = stream;
      this.lengths[id] = end - start;
      this.last[id] = sumDeltas(family.postings, start, end);
    }
  }

  /** True when `id` was dense in the seeding index and its old postings are therefore unknown. */
  isHeadless(id: number): boolean {
    return this.headless[id] === 1;
  }

  /** The key words of `id`. */
  keyWords(id: number): Uint32Array {
    return this.keys.subarray(id * this.words, (id + 1) * this.words);
  }

  /** The encoded postings of `id`. */
  stream(id: number): Uint8Array {
    return (this.streams[id] as Uint8Array).subarray(0, this.lengths[id] as number);
  }

  private post(id: number, offset: number): void {
    const count = this.counts[id] as number;
    if (count !== 0 && this.last[id] === offset) return;
    this.counts[id] = count + 1;
    const delta = offset - (this.last[id] as number);
    this.last[id] = offset;
    if (this.headless[id] === 1) return;
    let stream = this.streams[id] as Uint8Array;
    const length = this.lengths[id] as number;
    if (length + MAX_VARINT > stream.length) {
      const grown = new Uint8Array(stream.length * 2);
      grown.set(stream);
      this.streams[id] = grown;
      stream = grown;
    }
    this.lengths[id] = appendVarint(stream, length, delta);
  }

  /** Allocates the next id (the caller writes its key words, then calls {@link placed}). */
  private insert(): number {
    const id = this.size++;
    if (id >= this.counts.length) this.growArrays();
    this.streams[id] = new Uint8Array(INITIAL_STREAM);
    this.counts[id] = 0;
    this.last[id] = 0;
    this.lengths[id] = 0;
    return id;
  }

  /** Puts a new id in its slot, doubling the slot array once it is half full. */
  private placed(slotIndex: number, id: number): void {
    this.slots[slotIndex] = id + 1;
    if (this.size * 2 > this.slots.length) this.rehash();
  }

  private growArrays(): void {
    const capacity = this.counts.length * 2;
    const grow = <T extends Uint32Array | Float64Array | Uint8Array>(
      old: T,
      make: (n: number) => T,
      n: number,
    ): T => {
      const next = make(n);
      next.set(old);
      return next;
    };
    this.keys = grow(this.keys, (n) => new Uint32Array(n), capacity * this.words);
    this.counts = grow(this.counts, (n) => new Uint32Array(n), capacity);
    this.last = grow(this.last, (n) => new Float64Array(n), capacity);
    this.lengths = grow(this.lengths, (n) => new Uint32Array(n), capacity);
    this.headless = grow(this.headless, (n) => new Uint8Array(n), capacity);
  }

  /** Doubles the slot array (load factor stays at most 1/2) and re-inserts every id. */
  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    this.slots = slots;
    this.shift -= 1;
    const mask = slots.length - 1;
    const keys = this.keys;
    for (let id = 0; id < this.size; id++) {
      const k = id * this.words;
      let i =
        (this.words === 1
          ? hash1(keys[k] as number)
          : hash4(keys[k] as number, keys[k + 1] as number, keys[k + 2] as number, keys[k + 3] as number)) >>>
        this.shift;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = id + 1;
    }
  }
}

/** Fibonacci hashing: the high bits of the product are well mixed; callers shift them down. */
function hash1(k: number): number {
  return Math.imul(k, 0x9e3779b1);
}

function hash4(w0: number, w1: number, w2: number, w3: number): number {
  return Math.imul(
    w0 ^ Math.imul(w1, 0x85ebca6b) ^ Math.imul(w2, 0xc2b2ae35) ^ Math.imul(w3, 0x27d4eb2f),
    0x9e3779b1,
  );
}

function word(buf: Uint8Array, p: number): number {
  return (
    (buf[p] as number) * 0x1000000 +
    (((buf[p + 1] as number) << 16) | ((buf[p + 2] as number) << 8) | (buf[p + 3] as number))
  );
}
