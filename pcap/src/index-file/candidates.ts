/**
 * Turning a {@link FilterPlan} into candidate record offsets. Each term is the union of the
 * posting lists of the keys it covers; `and` intersects, `or` unions. Whatever cannot narrow
 * becomes "all": a dense key, a union larger than a quarter of the packets (reading the
 * whole window is then cheaper than seeking), or an `all` plan. `and` with "all" on one side
 * is the other side; `or` with "all" on either side is "all".
 */
import type { FilterPlan, IndexTerm } from "../plan/filter-terms.js";
import { ANY_VLAN, type KeyFamilies } from "./index-data.js";
import { decodeKey, type KeyFamily, keyRange } from "./key-family.js";

/** Records the slice executor must test with the exact filter: all of them, or these offsets. */
export type Candidates =
  | { readonly kind: "all" }
  | {
      readonly kind: "offsets";
      /** Record offsets, ascending, without duplicates. */
      readonly offsets: Float64Array;
    };

/** The answer that narrows nothing. */
export const ALL_CANDIDATES: Candidates = Object.freeze({ kind: "all" });

/**
 * Evaluates `plan` over `families`. `limit` is the largest candidate count worth returning as
 * offsets (a quarter of the packets); larger unions answer "all".
 */
export function evaluatePlan(plan: FilterPlan, families: KeyFamilies, limit: number): Candidates {
  switch (plan.kind) {
    case "all":
      return ALL_CANDIDATES;
    case "term":
      return termCandidates(plan.term, families, limit);
    case "and": {
      const left = evaluatePlan(plan.left, families, limit);
      // An empty side decides an intersection on its own: skip evaluating the other.
      if (left.kind === "offsets" && left.offsets.length === 0) return left;
      const right = evaluatePlan(plan.right, families, limit);
      if (left.kind === "all") return right;
      if (right.kind === "all") return left;
      return { kind: "offsets", offsets: intersect(left.offsets, right.offsets) };
    }
    case "or": {
      const left = evaluatePlan(plan.left, families, limit);
      if (left.kind === "all") return ALL_CANDIDATES;
      const right = evaluatePlan(plan.right, families, limit);
      if (right.kind === "all") return ALL_CANDIDATES;
      const merged = union(left.offsets, right.offsets);
      return merged.length > limit ? ALL_CANDIDATES : { kind: "offsets", offsets: merged };
    }
  }
}

/** Candidates of one index term. */
export function termCandidates(term: IndexTerm, families: KeyFamilies, limit: number): Candidates {
  const { family, low, high } = termKeys(term);
  return lookup(families[family], low, high, limit);
}

/** The keys an index term covers: a family and the inclusive bounds of a run of its keys. */
export interface TermKeys {
  readonly family: keyof KeyFamilies;
  readonly low: Uint32Array;
  readonly high: Uint32Array;
}

/** The family and key bounds of `term`. */
export function termKeys(term: IndexTerm): TermKeys {
  switch (term.kind) {
    case "ip4":
      return { family: "ip4", low: Uint32Array.of(term.from), high: Uint32Array.of(term.to) };
    case "port":
      return { family: "port", low: Uint32Array.of(term.from), high: Uint32Array.of(term.to) };
    case "proto":
      return { family: "proto", low: Uint32Array.of(term.value), high: Uint32Array.of(term.value) };
    case "vlan": {
      const key = Uint32Array.of(term.id ?? ANY_VLAN);
      return { family: "vlan", low: key, high: key };
    }
    case "ip6": {
      const [low, high] = prefixBounds(term.prefix, term.bits);
      return { family: "ip6", low, high };
    }
  }
}

/** Every index term of `plan` (with repeats), in evaluation order. */
export function planTerms(plan: FilterPlan, out: IndexTerm[] = []): IndexTerm[] {
  if (plan.kind === "term") out.push(plan.term);
  else if (plan.kind === "and" || plan.kind === "or") {
    planTerms(plan.left, out);
    planTerms(plan.right, out);
  }
  return out;
}

/** The lowest and highest 4-word IPv6 key inside `prefix/bits`. */
export function prefixBounds(prefix: Uint8Array, bits: number): [Uint32Array, Uint32Array] {
  const low = new Uint32Array(4);
  const high = new Uint32Array(4);
  for (let w = 0; w < 4; w++) {
    const value =
      ((prefix[w * 4] ?? 0) * 0x1000000 +
        (((prefix[w * 4 + 1] ?? 0) << 16) | ((prefix[w * 4 + 2] ?? 0) << 8) | (prefix[w * 4 + 3] ?? 0))) >>>
      0;
    const kept = Math.min(32, Math.max(0, bits - w * 32));
    const mask = kept === 0 ? 0 : (0xffffffff << (32 - kept)) >>> 0;
    low[w] = (value & mask) >>> 0;
    high[w] = ((value & mask) | (~mask >>> 0)) >>> 0;
  }
  return [low, high];
}

/**
 * The keys of `family` in `[low, high]` whose posting lists a lookup decodes, as the index range
 * `[from, to)`; null when the lookup answers "all" without them (a dense key, or more packets
 * than `limit`).
 */
export function decodedKeys(
  family: Pick<KeyFamily, "words" | "size" | "keys" | "counts" | "dense">,
  low: Uint32Array,
  high: Uint32Array,
  limit: number,
): [number, number] | null {
  const [from, to] = keyRange(family, low, high);
  let total = 0;
  for (let i = from; i < to; i++) {
    if (family.dense[i] === 1) return null;
    total += family.counts[i] as number;
  }
  // Counts include packets listed under two keys of the range (src and dst): an upper bound.
  return total > limit ? null : [from, to];
}

function lookup(family: KeyFamily, low: Uint32Array, high: Uint32Array, limit: number): Candidates {
  const range = decodedKeys(family, low, high, limit);
  if (range === null) return ALL_CANDIDATES;
  const [from, to] = range;
  let total = 0;
  for (let i = from; i < to; i++) total += family.counts[i] as number;
  let offsets: Float64Array = new Float64Array(total);
  let at = 0;
  for (let i = from; i < to; i++) at = decodeKey(family, i, offsets, at);
  if (to - from > 1) {
    offsets.sort();
    offsets = unique(offsets);
  }
  return { kind: "offsets", offsets };
}

/** Drops repeated values from a sorted array. */
function unique(sorted: Float64Array): Float64Array {
  let n = 0;
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i] as number;
    if (n === 0 || sorted[n - 1] !== v) sorted[n++] = v;
  }
  return n === sorted.length ? sorted : sorted.slice(0, n);
}

/** Values in both sorted unique arrays. */
export function intersect(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(Math.min(a.length, b.length));
  let n = 0;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as number;
    const y = b[j] as number;
    if (x === y) {
      out[n++] = x;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out.slice(0, n);
}

/** Values in either sorted unique array, sorted and unique. */
export function union(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  let n = 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = i < a.length ? (a[i] as number) : Number.POSITIVE_INFINITY;
    const y = j < b.length ? (b[j] as number) : Number.POSITIVE_INFINITY;
    if (x <= y) {
      out[n++] = x;
      i++;
      if (x === y) j++;
    } else {
      out[n++] = y;
      j++;
    }
  }
  return n === out.length ? out : out.slice(0, n);
}
