/**
 * Counters of one summary minute. A counter is keyed by `prefixId * 2 + direction` and holds the
 * minute's running totals (bytes, packets) for that key. Each counter also carries a "dirty"
 * flag, set when a packet changes it and cleared when its total is emitted: emitting only the
 * dirty counters of a minute is what turns a late record into a re-emitted total for just the
 * keys it touched. `unsaved` tells the persistence that the minute changed since it was written.
 */

/** Counters a minute reserves before growing. */
const INITIAL_SLOTS = 64;

/** Persisted form of one counter: [family, word0..word3, direction (0 src, 1 dst), bytes, packets, dirty]. */
export type CounterSnapshot = [number, number, number, number, number, number, number, number, number];

/** Persisted form of one minute (minutes since the epoch). */
export interface MinuteSnapshot {
  readonly minute: number;
  readonly counters: readonly CounterSnapshot[];
}

/** See the module comment. */
export class MinuteCounts {
  readonly slotOf = new Map<number, number>();
  keys = new Int32Array(INITIAL_SLOTS);
  bytes = new Float64Array(INITIAL_SLOTS);
  packets = new Float64Array(INITIAL_SLOTS);
  dirty = new Uint8Array(INITIAL_SLOTS);
  size = 0;
  /** Counters whose total changed since it was last emitted. */
  dirtyCount = 0;
  /** Changed (counts or dirty flags) since last persisted. */
  unsaved = false;

  constructor(readonly minute: number) {}

  /** Adds one packet of `bytes` to `key` (allocates only when a new key outgrows the arrays). */
  add(key: number, bytes: number): void {
    let slot = this.slotOf.get(key);
    if (slot === undefined) slot = this.newSlot(key);
    (this.bytes as Float64Array)[slot] = (this.bytes[slot] as number) + bytes;
    (this.packets as Float64Array)[slot] = (this.packets[slot] as number) + 1;
    if (this.dirty[slot] === 0) {
      this.dirty[slot] = 1;
      this.dirtyCount++;
    }
    this.unsaved = true;
  }

  /** Sets a counter restored from disk (its key must be new in this minute). */
  restore(key: number, bytes: number, packets: number, dirty: boolean): void {
    const slot = this.slotOf.get(key) ?? this.newSlot(key);
    (this.bytes as Float64Array)[slot] = (this.bytes[slot] as number) + bytes;
    (this.packets as Float64Array)[slot] = (this.packets[slot] as number) + packets;
    if (dirty && this.dirty[slot] === 0) {
      this.dirty[slot] = 1;
      this.dirtyCount++;
    }
  }

  /** Clears every dirty flag (the minute's changed totals were emitted). */
  markEmitted(): void {
    if (this.dirtyCount === 0) return;
    this.dirty.fill(0, 0, this.size);
    this.dirtyCount = 0;
    this.unsaved = true;
  }

  /** Rewrites every key through `map` (prefix table compaction). */
  remap(map: (key: number) => number): void {
    this.slotOf.clear();
    for (let slot = 0; slot < this.size; slot++) {
      const key = map(this.keys[slot] as number);
      this.keys[slot] = key;
      this.slotOf.set(key, slot);
    }
  }

  private newSlot(key: number): number {
    const slot = this.size++;
    if (slot >= this.keys.length) this.grow();
    this.keys[slot] = key;
    this.slotOf.set(key, slot);
    return slot;
  }

  private grow(): void {
    const n = this.keys.length * 2;
    const keys = new Int32Array(n);
    keys.set(this.keys);
    this.keys = keys;
    const bytes = new Float64Array(n);
    bytes.set(this.bytes);
    this.bytes = bytes;
    const packets = new Float64Array(n);
    packets.set(this.packets);
    this.packets = packets;
    const dirty = new Uint8Array(n);
    dirty.set(this.dirty);
    this.dirty = dirty;
  }
}
