/**
 * The bounded counter store under every analysis table: at most `maxKeys` slots of counters in
 * typed arrays (columns of one Float64Array), so memory is fixed by the options, never by the
 * traffic. When a new key arrives and every slot is taken, the slot with the smallest rank is
 * reused: the weighted Space-Saving algorithm (Metwally, Agrawal, El Abbadi, ICDT 2005).
 *
 * Error bound, for each key in a table that evicted: the new key's rank starts at the evicted
 * rank (`eps`), and a key's true measure lies in [rank - eps, rank], while its counters (counted
 * since it last entered) are lower bounds. The sum of ranks is the total measure seen, so the
 * smallest rank, hence every eps, is at most total / maxKeys; and every key whose true measure
 * exceeds that is in the table. Top-N rows therefore stay right while the tail may be low.
 *
 * Until the table is first full no heap exists and an update is a few typed-array writes; the
 * min-heap (4-ary, see `siftDown`) is built once, in O(n), on the first eviction and kept from
 * then on: an update then also sinks the slot past any sibling that ranks lower.
 */

/** Slots allocated at first; doubled on demand up to `maxKeys`. */
const INITIAL_CAPACITY = 64;

/** Counters per key in slots, ranked for eviction; subclasses map keys to slots. */
export abstract class BoundedTable {
  /** Most keys held at once. */
  readonly maxKeys: number;
  /** Counter columns per slot. */
  readonly stride: number;
  /** Slots in use. */
  size = 0;
  /** Slots allocated (grows by doubling, never beyond `maxKeys`). */
  capacity: number;
  /** Keys evicted to make room for new ones; 0 means the counts are exact. */
  evicted = 0;
  /** Largest rank a new key inherited: the table's error bound in its ranking unit. */
  maxError = 0;
  /** Set by the last lookup: true when it created the key (its counters are zero). */
  created = false;
  /** Counters, `stride` per slot. */
  protected data: Float64Array;
  /** Ranking measure per slot, inherited eps included. */
  protected rank: Float64Array;
  /** Min-heap of slots by rank, built on the first eviction; null until then. */
  private heap: Int32Array | null = null;
  /** Each heap entry's rank, beside it, so comparing siblings reads one cache line. */
  private heapRank: Float64Array | null = null;
  /** Heap index of each slot. */
  private heapPos: Int32Array | null = null;

  /** A table of `stride` counters per key holding at most `maxKeys` keys. */
  protected constructor(maxKeys: number, stride: number) {
    this.maxKeys = maxKeys;
    this.stride = stride;
    this.capacity = Math.min(INITIAL_CAPACITY, maxKeys);
    this.data = new Float64Array(this.capacity * stride);
    this.rank = new Float64Array(this.capacity);
  }

  /** Removes `slot`'s key from the key index (the slot is about to be reused). */
  protected abstract forget(slot: number): void;

  /** Grows the subclass's per-slot storage to `capacity` slots. */
  protected abstract resize(capacity: number): void;

  /** Adds `v` to counter `col` of `slot`. */
  add(slot: number, col: number, v: number): void {
    const i = slot * this.stride + col;
    this.data[i] = (this.data[i] as number) + v;
  }

  /** Sets counter `col` of `slot`. */
  set(slot: number, col: number, v: number): void {
    this.data[slot * this.stride + col] = v;
  }

  /** Counter `col` of `slot`. */
  get(slot: number, col: number): number {
    return this.data[slot * this.stride + col] as number;
  }

  /** Adds `delta` (>= 0) to `slot`'s rank, keeping the eviction heap ordered. */
  bump(slot: number, delta: number): void {
    const r = (this.rank[slot] as number) + delta;
    this.rank[slot] = r;
    const pos = this.heapPos;
    if (pos === null) return;
    const at = pos[slot] as number;
    (this.heapRank as Float64Array)[at] = r;
    this.siftDown(at);
  }

  /** Rank of `slot` (its counted measure plus the inherited eps). */
  rankOf(slot: number): number {
    return this.rank[slot] as number;
  }

  /** Slots in use ordered by rank, highest first; `tieBreak` orders equal ranks. */
  ranked(limit: number, tieBreak: (a: number, b: number) => number): number[] {
    const slots = Array.from({ length: this.size }, (_, i) => i);
    const rank = this.rank;
    slots.sort((a, b) => (rank[b] as number) - (rank[a] as number) || tieBreak(a, b));
    return slots.length > limit ? slots.slice(0, limit) : slots;
  }

  /**
   * A slot for a new key: a free one, or the lowest-ranked one emptied. Sets {@link created}.
   * The caller stores the key; the slot's rank is 0, or the evicted rank (Space-Saving).
   */
  protected claim(): number {
    this.created = true;
    if (this.size < this.capacity) return this.size++;
    if (this.capacity < this.maxKeys) {
      this.grow(Math.min(this.capacity * 2, this.maxKeys));
      return this.size++;
    }
    if (this.heap === null) this.buildHeap();
    const slot = (this.heap as Int32Array)[0] as number;
    this.forget(slot);
    const inherited = this.rank[slot] as number;
    if (inherited > this.maxError) this.maxError = inherited;
    const data = this.data;
    for (let i = slot * this.stride, end = i + this.stride; i < end; i++) data[i] = 0;
    this.evicted++;
    // The slot keeps its rank, the heap's minimum, so it stays at the root until bumped.
    return slot;
  }

  private grow(capacity: number): void {
    const data = new Float64Array(capacity * this.stride);
    data.set(this.data);
    this.data = data;
    const rank = new Float64Array(capacity);
    rank.set(this.rank);
    this.rank = rank;
    this.resize(capacity);
    this.capacity = capacity;
  }

  private buildHeap(): void {
    const n = this.size;
    const heap = new Int32Array(n);
    const pos = new Int32Array(n);
    const heapRank = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      heap[i] = i;
      pos[i] = i;
      heapRank[i] = this.rank[i] as number;
    }
    this.heap = heap;
    this.heapRank = heapRank;
    this.heapPos = pos;
    for (let i = (n - 2) >> 2; i >= 0; i--) this.siftDown(i);
  }

  /**
   * Moves the entry at heap index `i` down until no child ranks lower. The heap is 4-ary: a
   * new key in a full table sinks far (its rank is the old minimum plus its packet), and four
   * children side by side in memory halve the levels, hence the cache misses, of a binary heap.
   */
  private siftDown(i: number): void {
    const heap = this.heap as Int32Array;
    const pos = this.heapPos as Int32Array;
    const hr = this.heapRank as Float64Array;
    const n = heap.length;
    const slot = heap[i] as number;
    const r = hr[i] as number;
    let at = i;
    for (;;) {
      const first = 4 * at + 1;
      if (first >= n) break;
      const last = Math.min(first + 4, n);
      let child = first;
      let cr = hr[first] as number;
      for (let k = first + 1; k < last; k++) {
        const kr = hr[k] as number;
        if (kr < cr) {
          child = k;
          cr = kr;
        }
      }
      if (cr >= r) break;
      const moved = heap[child] as number;
      heap[at] = moved;
      hr[at] = cr;
      pos[moved] = at;
      at = child;
    }
    heap[at] = slot;
    hr[at] = r;
    pos[slot] = at;
  }
}
