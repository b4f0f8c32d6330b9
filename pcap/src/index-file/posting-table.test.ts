/**
 * Unit tests of the build-time key tables and the varint lists: what goes in comes out sorted
 * and complete, a seeded table continues exactly where a previous build stopped, and density
 * decides what is stored.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeKey, finishFamily, type KeyFamily, keyRange } from "./key-family.js";
import { PostingTable } from "./posting-table.js";
import { appendVarint, decodeDeltas, sumDeltas, varintLength } from "./varint.js";

/** Every key's decoded list, by key text. */
function lists(family: KeyFamily): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (let i = 0; i < family.size; i++) {
    const key = Array.from(family.keys.subarray(i * family.words, (i + 1) * family.words)).join(":");
    const offsets = new Float64Array(family.counts[i] as number);
    const n = decodeKey(family, i, offsets, 0);
    out.set(key, family.dense[i] === 1 && n === 0 ? [] : Array.from(offsets.subarray(0, n)));
  }
  return out;
}

describe("varint", () => {
  it("round-trips deltas, including offsets beyond 4 GiB", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { maxLength: 50 }), (deltas) => {
        const bytes = new Uint8Array(deltas.length * 8);
        let at = 0;
        for (const d of deltas) {
          const next = appendVarint(bytes, at, d);
          expect(next - at).toBe(varintLength(d));
          at = next;
        }
        const out = new Float64Array(deltas.length);
        expect(decodeDeltas(bytes, 0, at, out, 0)).toBe(deltas.length);
        let sum = 0;
        expect(Array.from(out)).toEqual(deltas.map((d) => (sum += d)));
        expect(sumDeltas(bytes, 0, at)).toBe(sum);
      }),
    );
  });

  it("rejects a list that ends inside a varint", () => {
    expect(() => decodeDeltas(Uint8Array.of(0x80), 0, 1, new Float64Array(1), 0)).toThrow(RangeError);
  });
});

describe("PostingTable", () => {
  it("collects, dedupes per packet, sorts keys and survives growth", () => {
    const table = new PostingTable(1);
    const expected = new Map<number, number[]>();
    for (let packet = 0; packet < 20_000; packet++) {
      const offset = 24 + packet * 100;
      for (const key of [packet % 7919, (packet * 31) % 50_000, packet % 7919]) {
        table.add1(key, offset);
        const list = expected.get(key) ?? [];
        if (list[list.length - 1] !== offset) list.push(offset);
        expected.set(key, list);
      }
    }
    const family = finishFamily(table, 20_000, 1);
    expect(family?.size).toBe(expected.size);
    if (family === undefined) return;
    for (let i = 1; i < family.size; i++)
      expect(family.keys[i] as number).toBeGreaterThan(family.keys[i - 1] as number);
    const got = lists(family);
    for (const [key, offsets] of expected) expect(got.get(String(key))).toEqual(offsets);
  });

  it("keeps four-word keys apart through many table growths", () => {
    const table = new PostingTable(4);
    const address = Buffer.alloc(16);
    for (let packet = 0; packet < 3000; packet++) {
      for (const host of [packet % 1000, 5000 + (packet % 7)]) {
        address.writeUInt32BE(0xfd000000, 0);
        address.writeUInt32BE(host, 12);
        table.add4(address, 0, 4, packet * 10);
      }
    }
    const family = finishFamily(table, 3000, 1);
    expect(family?.size).toBe(1007);
    if (family === undefined) return;
    const got = lists(family);
    expect(got.get([0xfd000000, 0, 0, 999].join(":"))).toEqual([9990, 19990, 29990]);
    expect(got.get([0xfd000000, 0, 0, 5003].join(":"))?.length).toBe(429);
  });

  it("keys four-word addresses, zero-padding cut ones", () => {
    const table = new PostingTable(4);
    const address = Buffer.from("20010db8000000010000000000000002", "hex");
    table.add4(address, 0, 4, 100);
    table.add4(address, 0, 1, 200); // only the first word captured
    table.add4(address, 0, 4, 300);
    const family = finishFamily(table, 1000, 8);
    expect(family).toBeDefined();
    if (family === undefined) return;
    const got = lists(family);
    expect(got.get([0x20010db8, 1, 0, 2].join(":"))).toEqual([100, 300]);
    expect(got.get([0x20010db8, 0, 0, 0].join(":"))).toEqual([200]);
    // A /32 range finds both.
    const [from, to] = keyRange(
      family,
      Uint32Array.of(0x20010db8, 0, 0, 0),
      Uint32Array.of(0x20010db8, ~0 >>> 0, ~0 >>> 0, ~0 >>> 0),
    );
    expect(to - from).toBe(2);
  });

  it("stores sparse lists, keeps near-threshold dense lists, drops the rest", () => {
    const table = new PostingTable(1);
    for (let p = 0; p < 800; p++) {
      table.add1(1, p * 10); // 800/800: dense
      if (p % 6 === 0) table.add1(2, p * 10); // 134/800: dense, but under twice the threshold
      if (p % 20 === 0) table.add1(3, p * 10); // 40/800: sparse
    }
    const family = finishFamily(table, 800, 8);
    if (family === undefined) throw new Error("no family");
    expect(Array.from(family.dense)).toEqual([1, 1, 0]);
    const stored = (i: number) => (family.offsets[i + 1] as number) - (family.offsets[i] as number);
    expect(stored(0)).toBe(0);
    expect(stored(1)).toBeGreaterThan(0);
    expect(stored(2)).toBeGreaterThan(0);
  });

  it("continues a seeded family exactly, and refuses a headless key that turns sparse", () => {
    const all = new PostingTable(1);
    const first = new PostingTable(1);
    for (let p = 0; p < 1000; p++) {
      const keys = [p % 13, 100 + (p % 3), p < 100 ? 500 : 600];
      for (const k of keys) {
        all.add1(k, 24 + p * 64);
        if (p < 400) first.add1(k, 24 + p * 64);
      }
    }
    const prefix = finishFamily(first, 400, 8);
    if (prefix === undefined) throw new Error("no prefix");
    const continued = new PostingTable(1);
    continued.seed(prefix);
    for (let p = 400; p < 1000; p++) {
      for (const k of [p % 13, 100 + (p % 3), p < 100 ? 500 : 600]) continued.add1(k, 24 + p * 64);
    }
    // Key 500 was in 100 of 400 packets (dense, list kept): it turns sparse without a rebuild.
    expect(lists(finishFamily(continued, 1000, 8) as KeyFamily)).toEqual(
      lists(finishFamily(all, 1000, 8) as KeyFamily),
    );
    // A key dense far above the threshold loses its list; if it then turns sparse, ask for a rebuild.
    const heavy = new PostingTable(1);
    for (let p = 0; p < 10; p++) heavy.add1(7, p);
    const seeded = new PostingTable(1);
    seeded.seed(finishFamily(heavy, 10, 8) as KeyFamily);
    seeded.add1(8, 1000);
    expect(finishFamily(seeded, 200, 8)).toBeUndefined();
  });
});
