/**
 * A binary min-heap of merge inputs keyed by the timestamp of each input's next packet. Keys
 * live in typed arrays indexed by input, the heap holds input indices: no objects, no
 * comparator closure, so a merge of any number of inputs allocates nothing per packet.
 */

/** Which input goes first when packets of several inputs have the same timestamp. */
export type TieBreak = "later-input" | "earlier-input";

/** The heap; see the module comment. */
export class TimeHeap {
  /** Seconds of each input's key, by input index. */
  readonly sec: Float64Array;
  /** Nanoseconds of each input's key, by input index. */
  readonly nsec: Float64Array;
  /**
   * Tie rank of each input, by input index: of two equal timestamps the lower rank goes first.
   * Ranks are distinct, so the order is total and the merge deterministic.
   */
  readonly rank: Float64Array;
  private readonly items: Int32Array;
  private length = 0;

  /** A heap for inputs 0..count-1. */
  constructor(count: number, tieBreak: TieBreak) {
    this.sec = new Float64Array(count);
    this.nsec = new Float64Array(count);
    this.rank = new Float64Array(count);
    this.items = new Int32Array(count);
    for (let i = 0; i < count; i++) this.rank[i] = tieBreak === "later-input" ? count - 1 - i : i;
  }

  /** Inputs in the heap. */
  get size(): number {
    return this.length;
  }

  /** The input whose next packet goes first (the heap must not be empty). */
  get top(): number {
    return this.items[0] as number;
  }

  /** Adds an input with its key. */
  push(input: number, sec: number, nsec: number): void {
    this.sec[input] = sec;
    this.nsec[input] = nsec;
    let i = this.length++;
    const items = this.items;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as number;
      if (!this.before(input, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = input;
  }

  /**
   * The input that would be on top without the current top: the better of its children, or -1.
   * The top input may emit packets until its key passes this one's.
   */
  runnerUp(): number {
    const n = this.length;
    if (n < 2) return -1;
    const items = this.items;
    const a = items[1] as number;
    if (n < 3) return a;
    const b = items[2] as number;
    return this.before(b, a) ? b : a;
  }

  /** Gives the top input a new key and restores the heap order. */
  replaceTop(sec: number, nsec: number): void {
    const input = this.items[0] as number;
    this.sec[input] = sec;
    this.nsec[input] = nsec;
    this.siftDown(input);
  }

  /** Removes the top input (it has no packets left). */
  pop(): void {
    const n = --this.length;
    if (n > 0) this.siftDown(this.items[n] as number);
  }

  /** True when input `a`'s key goes before input `b`'s. */
  before(a: number, b: number): boolean {
    const sa = this.sec[a] as number;
    const sb = this.sec[b] as number;
    if (sa !== sb) return sa < sb;
    const na = this.nsec[a] as number;
    const nb = this.nsec[b] as number;
    if (na !== nb) return na < nb;
    return (this.rank[a] as number) < (this.rank[b] as number);
  }

  /** Places `input` at the root and moves it down to where it belongs. */
  private siftDown(input: number): void {
    const items = this.items;
    const n = this.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      let child = left;
      let c = items[left] as number;
      const right = left + 1;
      if (right < n) {
        const r = items[right] as number;
        if (this.before(r, c)) {
          child = right;
          c = r;
        }
      }
      if (!this.before(c, input)) break;
      items[i] = c;
      i = child;
    }
    items[i] = input;
  }
}
