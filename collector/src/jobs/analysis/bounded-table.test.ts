import { Prng } from "@pcapfleet/pcap";
import { describe, expect, it } from "vitest";
import { StringTable } from "./string-table.js";
import { WordTable } from "./word-table.js";

/** Counts `weight` for a 3-word key in `t` (rank and counter 0), as the analyser does. */
function hit(t: WordTable, k: number, weight: number): number {
  t.key[0] = k;
  t.key[1] = k * 7919;
  t.key[2] = 6;
  const slot = t.find();
  t.add(slot, 0, weight);
  t.bump(slot, weight);
  return slot;
}

/** Counter 0 of every key held, by the key's first word. */
function counts(t: WordTable): Map<number, number> {
  const out = new Map<number, number>();
  for (let slot = 0; slot < t.size; slot++) out.set(t.keyWord(slot, 0), t.get(slot, 0));
  return out;
}

describe("WordTable", () => {
  it("counts exactly, and finds every key again, while under maxKeys", () => {
    const t = new WordTable(3, 1, 10_000);
    for (let round = 0; round < 3; round++) for (let k = 0; k < 5000; k++) hit(t, k, k + 1);
    expect(t.size).toBe(5000);
    expect(t.evicted).toBe(0);
    const c = counts(t);
    for (let k = 0; k < 5000; k++) expect(c.get(k)).toBe(3 * (k + 1));
    hit(t, 42, 1);
    expect(t.created).toBe(false);
  });

  it("never holds more than maxKeys keys, however many it sees", () => {
    const t = new WordTable(3, 1, 500);
    for (let k = 0; k < 100_000; k++) hit(t, k, 1);
    expect(t.size).toBe(500);
    expect(t.capacity).toBe(500);
    expect(t.evicted).toBe(100_000 - 500);
  });

  it("keeps Space-Saving's bounds on a skewed stream: lower-bound counts within maxError, heavy keys kept", () => {
    const maxKeys = 200;
    const t = new WordTable(3, 1, maxKeys);
    const rng = new Prng(11);
    const truth = new Map<number, number>();
    let total = 0;
    for (let i = 0; i < 200_000; i++) {
      // Zipf-like: a few keys carry most of the weight, thousands appear a handful of times.
      const k = Math.floor(5000 * rng.float() ** 4);
      const w = 1 + Math.floor(rng.float() * 1500);
      hit(t, k, w);
      truth.set(k, (truth.get(k) ?? 0) + w);
      total += w;
    }
    expect(t.evicted).toBeGreaterThan(0);
    expect([...truth.values()].filter((v) => v > total / maxKeys).length).toBeGreaterThan(5);
    expect(t.maxError).toBeLessThanOrEqual(total / maxKeys);
    const c = counts(t);
    // After all those evictions (hash deletions), each held key is held once and found again.
    expect(c.size).toBe(t.size);
    for (const k of c.keys()) {
      hit(t, k, 0);
      expect(t.created).toBe(false);
    }
    for (const [k, counted] of c) {
      const real = truth.get(k) ?? 0;
      expect(counted).toBeLessThanOrEqual(real);
      expect(real - counted).toBeLessThanOrEqual(t.maxError);
    }
    for (const [k, real] of truth) if (real > total / maxKeys) expect(c.has(k), `key ${k}`).toBe(true);
    // The top 10 by count is the true top 10.
    const top = (m: Map<number, number>): number[] =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 10)
        .map(([k]) => k);
    expect(top(c)).toEqual(top(truth));
  });

  it("ranks by rank with the key as tie-break", () => {
    const t = new WordTable(3, 1, 100);
    for (const [k, w] of [
      [5, 10],
      [3, 10],
      [9, 30],
      [1, 5],
    ] as const)
      hit(t, k, w);
    const order = t.ranked(3, (a, b) => t.compareKeys(a, b)).map((s) => t.keyWord(s, 0));
    expect(order).toEqual([9, 3, 5]);
  });
});

describe("StringTable", () => {
  it("keys by name and number, and unlinks evicted keys sharing a name", () => {
    const t = new StringTable(1, 3);
    const count = (name: string, sub: number): void => {
      const s = t.find(name, sub);
      t.add(s, 0, 1);
      t.bump(s, 1);
    };
    for (let i = 0; i < 5; i++) count("a.example", 1);
    for (let i = 0; i < 4; i++) count("a.example", 28);
    count("b.example", 1);
    // Full: the next new key evicts the smallest (b.example), then a.example/65 evicts itself next time.
    count("a.example", 65);
    count("c.example", 1);
    const held = Array.from(
      { length: t.size },
      (_, s) => `${t.nameOf(s)}/${t.subOf(s)}=${t.get(s, 0)}`,
    ).sort();
    expect(held).toEqual(["a.example/1=5", "a.example/28=4", "c.example/1=1"]);
    expect(t.evicted).toBe(2);
    // Every held key is found again, not re-created.
    t.find("a.example", 28);
    expect(t.created).toBe(false);
    t.find("c.example", 1);
    expect(t.created).toBe(false);
    t.find("a.example", 65);
    expect(t.created).toBe(true);
  });
});
