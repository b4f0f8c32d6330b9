/**
 * A {@link BoundedTable} keyed by a string and a small number (a DNS name and its query type;
 * an SNI or Host with 0). The decoder has already allocated the string, so a Map keyed by it
 * costs no more; keys that share the string chain through their slots, which keeps the number
 * out of the Map key (no concatenated string per packet).
 */
import { BoundedTable } from "./bounded-table.js";

/** Counters keyed by (string, number). */
export class StringTable extends BoundedTable {
  private readonly heads = new Map<string, number>();
  private names: string[] = [];
  private subs: Int32Array;
  /** Next slot with the same string, -1 at the end of the chain. */
  private next: Int32Array;

  /** A table of `stride` counters per key, holding at most `maxKeys` keys. */
  constructor(stride: number, maxKeys: number) {
    super(maxKeys, stride);
    this.subs = new Int32Array(this.capacity);
    this.next = new Int32Array(this.capacity);
  }

  /** The slot of (`name`, `sub`), created (maybe by eviction) when absent; see `created`. */
  find(name: string, sub: number): number {
    const head = this.heads.get(name);
    if (head !== undefined) {
      for (let s = head; s >= 0; s = this.next[s] as number) {
        if (this.subs[s] === sub) {
          this.created = false;
          return s;
        }
      }
    }
    // Eviction may unlink a slot of this very chain: read the head again after claiming.
    const slot = this.claim();
    this.names[slot] = name;
    this.subs[slot] = sub;
    this.next[slot] = this.heads.get(name) ?? -1;
    this.heads.set(name, slot);
    return slot;
  }

  /** The string of `slot`'s key. */
  nameOf(slot: number): string {
    return this.names[slot] ?? "";
  }

  /** The number of `slot`'s key. */
  subOf(slot: number): number {
    return this.subs[slot] as number;
  }

  protected override forget(slot: number): void {
    const name = this.nameOf(slot);
    const after = this.next[slot] as number;
    const head = this.heads.get(name);
    if (head === slot) {
      if (after < 0) this.heads.delete(name);
      else this.heads.set(name, after);
      return;
    }
    for (let s = head ?? -1; s >= 0; s = this.next[s] as number) {
      if (this.next[s] === slot) {
        this.next[s] = after;
        return;
      }
    }
  }

  protected override resize(capacity: number): void {
    const subs = new Int32Array(capacity);
    subs.set(this.subs);
    this.subs = subs;
    const next = new Int32Array(capacity);
    next.set(this.next);
    this.next = next;
  }
}
