/**
 * Interning of address prefixes as small integer ids, so the summary loop keys its counters by
 * numbers (no string per packet); the prefix text is built only when a minute is emitted.
 */

const V4 = 4;
const V6 = 6;
/** Ids reserved before growing the per-id arrays again. */
const INITIAL_IDS = 256;

/** Prefix ids of IPv4 and IPv6 prefixes of fixed lengths. */
export class PrefixTable {
  readonly prefixV4: number;
  readonly prefixV6: number;
  private readonly maskV4: number;
  /** 32-bit words of an IPv6 address the prefix covers (1..4), and the mask of the last one. */
  private readonly wordsV6: number;
  private readonly lastMaskV6: number;
  private readonly v4 = new Map<number, number>();
  /** Trie of IPv6 prefix words: inner levels map a word to the index of the next level's map. */
  private levels: Map<number, number>[] = [new Map()];
  private family = new Uint8Array(INITIAL_IDS);
  private words = new Int32Array(INITIAL_IDS * 4);
  private count = 0;

  /** `prefixV4` in 0..32, `prefixV6` in 0..128 (checked by the caller). */
  constructor(prefixV4: number, prefixV6: number) {
    this.prefixV4 = prefixV4;
    this.prefixV6 = prefixV6;
    this.maskV4 = maskOf(prefixV4);
    this.wordsV6 = Math.max(1, Math.ceil(prefixV6 / 32));
    this.lastMaskV6 = maskOf(prefixV6 - (this.wordsV6 - 1) * 32);
  }

  /** Prefixes interned so far. */
  get size(): number {
    return this.count;
  }

  /** Id of the IPv4 prefix holding the address (a uint32 or int32 value). */
  idV4(address: number): number {
    const key = (address & this.maskV4) | 0;
    const known = this.v4.get(key);
    if (known !== undefined) return known;
    const id = this.newId(V4);
    this.words[id * 4] = key;
    this.v4.set(key, id);
    return id;
  }

  /** Id of the IPv6 prefix holding the 16-byte address at `at` in `buf` (all bytes present). */
  idV6(buf: Uint8Array, at: number): number {
    const last = this.wordsV6 - 1;
    let level = 0;
    for (let w = 0; w < last; w++) {
      const word = word32(buf, at + w * 4);
      const map = this.levels[level] as Map<number, number>;
      let next = map.get(word);
      if (next === undefined) {
        next = this.levels.length;
        this.levels.push(new Map());
        map.set(word, next);
      }
      level = next;
    }
    const word = (word32(buf, at + last * 4) & this.lastMaskV6) | 0;
    const map = this.levels[level] as Map<number, number>;
    const known = map.get(word);
    if (known !== undefined) return known;
    const id = this.newId(V6);
    for (let w = 0; w <= last; w++) {
      this.words[id * 4 + w] = w === last ? word : word32(buf, at + w * 4);
    }
    map.set(word, id);
    return id;
  }

  /** The prefix of `id` as text: "192.0.2.0/24", "2001:db8:0:1::/64". */
  format(id: number): string {
    const base = id * 4;
    if (this.family[id] === V4) {
      const a = (this.words[base] as number) >>> 0;
      return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}/${this.prefixV4}`;
    }
    const groups: number[] = [];
    for (let w = 0; w < 4; w++) {
      const value = w < this.wordsV6 ? (this.words[base + w] as number) >>> 0 : 0;
      groups.push(value >>> 16, value & 0xffff);
    }
    return `${formatIpv6(groups)}/${this.prefixV6}`;
  }

  /**
   * The prefix of `id` as numbers, for persistence and for copying into another table:
   * [family (4 or 6), word0, word1, word2, word3] (int32 words, zero beyond the prefix).
   */
  describe(id: number): [number, number, number, number, number] {
    const base = id * 4;
    const w = this.words;
    return [
      this.family[id] as number,
      w[base] as number,
      w[base + 1] as number,
      w[base + 2] as number,
      w[base + 3] as number,
    ];
  }

  /**
   * Id of a prefix given as {@link describe} returns it (words are masked again, so a prefix
   * from a table of other lengths lands on the prefix that holds it); undefined for a family
   * that is neither 4 nor 6.
   */
  intern(prefix: readonly number[]): number | undefined {
    const family = prefix[0];
    if (family === V4) return this.idV4((prefix[1] ?? 0) | 0);
    if (family !== V6) return undefined;
    const bytes = new Uint8Array(16);
    for (let w = 0; w < 4; w++) {
      const word = (prefix[w + 1] ?? 0) >>> 0;
      bytes[w * 4] = word >>> 24;
      bytes[w * 4 + 1] = (word >>> 16) & 0xff;
      bytes[w * 4 + 2] = (word >>> 8) & 0xff;
      bytes[w * 4 + 3] = word & 0xff;
    }
    return this.idV6(bytes, 0);
  }

  private newId(family: number): number {
    const id = this.count++;
    if (id >= this.family.length) {
      const family2 = new Uint8Array(this.family.length * 2);
      family2.set(this.family);
      this.family = family2;
      const words2 = new Int32Array(this.words.length * 2);
      words2.set(this.words);
      this.words = words2;
    }
    this.family[id] = family;
    this.words.fill(0, id * 4, id * 4 + 4);
    return id;
  }
}

/** Network mask of a prefix length within one 32-bit word, as int32 (0 for length 0). */
function maskOf(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? -1 : (-1 << (32 - bits)) | 0;
}

/** Big-endian 32-bit word at `at`, as int32 (a Smi: no heap number in the loop). */
function word32(buf: Uint8Array, at: number): number {
  return (
    ((buf[at] as number) << 24) |
    ((buf[at + 1] as number) << 16) |
    ((buf[at + 2] as number) << 8) |
    (buf[at + 3] as number)
  );
}

/** RFC 5952 text of eight 16-bit groups: lowercase, longest run of two or more zeros as "::". */
export function formatIpv6(groups: readonly number[]): string {
  let bestAt = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestAt = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(":");
  if (bestAt < 0) return hex(0, 8);
  return `${hex(0, bestAt)}::${hex(bestAt + bestLength, 8)}`;
}
