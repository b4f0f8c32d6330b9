/**
 * A planner's reading of a tcpdump filter expression: which packets *could* match, in terms of
 * what the per-file index can look up (addresses, ports, IP protocols, VLAN ids). It never
 * decides a match: libpcap's compiled program does that on every candidate. So the only rule is
 * that a plan must be a superset: anything this parser does not fully understand becomes `all`.
 */

/** A set of packets the index can produce. */
export type IndexTerm =
  | { readonly kind: "ip4"; readonly from: number; readonly to: number }
  | { readonly kind: "ip6"; readonly prefix: Uint8Array; readonly bits: number }
  | { readonly kind: "port"; readonly from: number; readonly to: number }
  | { readonly kind: "proto"; readonly value: number }
  | { readonly kind: "vlan"; readonly id: number | undefined };

/** A candidate-set plan: index terms combined by and/or; `all` means "scan the window". */
export type FilterPlan =
  | { readonly kind: "all" }
  | { readonly kind: "term"; readonly term: IndexTerm }
  | { readonly kind: "and" | "or"; readonly left: FilterPlan; readonly right: FilterPlan };

const ALL: FilterPlan = { kind: "all" };

/** Named protocols tcpdump accepts as a bare primitive, with their IP protocol number. */
const protoNames: Readonly<Record<string, number>> = {
  tcp: 6,
  udp: 17,
  icmp: 1,
  icmp6: 58,
  sctp: 132,
  igmp: 2,
  igrp: 9,
  pim: 103,
  vrrp: 112,
  carp: 112,
  ah: 51,
  esp: 50,
};

/** Address-family qualifiers that only narrow a primitive (the plan may ignore them). */
const familyQualifiers = new Set(["ip", "ip6", "arp", "rarp"]);
const protoQualifiers = new Set(["tcp", "udp", "sctp"]);
const dirQualifiers = new Set(["src", "dst"]);
/**
 * Keywords after which libpcap reads the rest of the expression inside another encapsulation
 * (PPPoE, MPLS, tunnels) that the index does not look into: any of them makes the plan a scan.
 */
const encapsulationKeywords = new Set(["mpls", "pppoes", "pppoed", "geneve", "vxlan", "llc", "wlan", "atm"]);

interface Qualifiers {
  type: "host" | "net" | "port" | "portrange" | undefined;
  family: string | undefined;
}

class Unplannable extends Error {}

/**
 * Reads a tcpdump expression into a {@link FilterPlan}. Expressions, or parts of them, that the
 * index cannot narrow (`not`, byte offsets, `ether`, `less`, names to resolve...) plan as `all`,
 * which is always correct; a syntax libpcap rejects is left for libpcap to report.
 */
export function planFilter(expression: string): FilterPlan {
  const tokens = tokenize(expression);
  if (tokens === undefined || tokens.length === 0) return ALL;
  if (tokens.some((token) => encapsulationKeywords.has(token))) return ALL;
  try {
    const parser = new Parser(tokens);
    const plan = parser.expression();
    return parser.done() ? simplify(plan) : ALL;
  } catch (error) {
    if (error instanceof Unplannable) return ALL;
    throw error;
  }
}

function tokenize(text: string): string[] | undefined {
  const tokens: string[] = [];
  const pattern = /\s*(?:(&&|\|\||[()!])|([A-Za-z0-9_.:/\-\\]+))/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (match === null) return undefined; // arithmetic, brackets, relops: not plannable
    tokens.push((match[1] ?? match[2] ?? "").toLowerCase());
    at = pattern.lastIndex;
  }
  return tokens.map((token) =>
    token === "&&" ? "and" : token === "||" ? "or" : token === "!" ? "not" : token,
  );
}

class Parser {
  private at = 0;
  private last: Qualifiers = { type: undefined, family: undefined };

  constructor(private readonly tokens: readonly string[]) {}

  done(): boolean {
    return this.at === this.tokens.length;
  }

  /** expr := term (("and" | "or") term)* — libpcap gives and/or equal precedence, left to right. */
  expression(): FilterPlan {
    let plan = this.term();
    for (;;) {
      const op = this.tokens[this.at];
      if (op !== "and" && op !== "or") return plan;
      this.at++;
      plan = { kind: op, left: plan, right: this.term() };
    }
  }

  private term(): FilterPlan {
    const token = this.tokens[this.at];
    if (token === undefined) throw new Unplannable();
    if (token === "not") {
      this.at++;
      this.term(); // consumed for its qualifiers; a complement cannot be narrowed by the index
      return ALL;
    }
    if (token === "(") {
      this.at++;
      const inner = this.expression();
      if (this.tokens[this.at] !== ")") throw new Unplannable();
      this.at++;
      return inner;
    }
    return this.primitive();
  }

  private primitive(): FilterPlan {
    const words: string[] = [];
    // A primitive is a run of qualifier words, optionally ending in an id.
    while (this.at < this.tokens.length) {
      const token = this.tokens[this.at] as string;
      if (token === "and" || token === "or" || token === ")" || token === "(" || token === "not") break;
      words.push(token);
      this.at++;
    }
    if (words.length === 0) throw new Unplannable();
    return this.interpret(words);
  }

  private interpret(words: string[]): FilterPlan {
    const [first, second] = words;
    if (first === "vlan") return vlanPlan(words);
    if (words.length === 1 && first !== undefined) {
      if (first in protoNames) return term({ kind: "proto", value: protoNames[first] as number });
      if (familyQualifiers.has(first) || first === "ip6") return ALL;
      // A bare id inherits the previous primitive's qualifiers (`port 80 or 443`).
      if (this.last.type === undefined) return looksLikeAddress(first) ? addressPlan("host", first) : ALL;
      return this.qualified(this.last.type, this.last.family, first);
    }
    if ((first === "ip" || first === "ip6" || first === "proto") && words.includes("proto")) {
      return protoPlan(words);
    }
    let family: string | undefined;
    let type: Qualifiers["type"];
    let index = 0;
    if (first !== undefined && (familyQualifiers.has(first) || protoQualifiers.has(first))) {
      family = first;
      index++;
    }
    while (dirQualifiers.has(words[index] ?? "") || words[index] === "or" || words[index] === "and") index++;
    const typeWord = words[index];
    if (typeWord === "host" || typeWord === "net" || typeWord === "port" || typeWord === "portrange") {
      type = typeWord;
      index++;
    }
    const id = words[index];
    if (type === undefined || id === undefined) {
      // `src 10.0.0.1` (type defaults to host) or a qualifier we do not plan for.
      if (type === undefined && id !== undefined && index === words.length - 1 && second !== undefined) {
        return this.qualified("host", family, id);
      }
      return ALL;
    }
    const rest = words.slice(index + 1);
    if (type === "net" && rest.length === 2 && rest[0] === "mask")
      return this.qualified(type, family, `${id}/${rest[1]}`);
    if (rest.length > 0) return ALL;
    return this.qualified(type, family, id);
  }

  private qualified(
    type: NonNullable<Qualifiers["type"]>,
    family: string | undefined,
    id: string,
  ): FilterPlan {
    this.last = { type, family };
    if (type === "port") return portPlan(id, id);
    if (type === "portrange") {
      const [from, to] = id.split("-");
      return from === undefined || to === undefined ? ALL : portPlan(from, to);
    }
    return addressPlan(type, id);
  }
}

function term(indexTerm: IndexTerm): FilterPlan {
  return { kind: "term", term: indexTerm };
}

function vlanPlan(words: string[]): FilterPlan {
  if (words.length === 1) return term({ kind: "vlan", id: undefined });
  const id = Number(words[1]);
  return words.length === 2 && Number.isInteger(id) && id >= 0 && id < 4096
    ? term({ kind: "vlan", id })
    : ALL;
}

function protoPlan(words: string[]): FilterPlan {
  const value = words[words.length - 1] ?? "";
  const number = /^\d+$/.test(value) ? Number(value) : protoNames[value.replace(/^\\/, "")];
  return number !== undefined && number < 256 && words.length <= 3
    ? term({ kind: "proto", value: number })
    : ALL;
}

function portPlan(fromText: string, toText: string): FilterPlan {
  if (!/^\d+$/.test(fromText) || !/^\d+$/.test(toText)) return ALL; // service names: libpcap's job
  const from = Number(fromText);
  const to = Number(toText);
  if (from > 65535 || to > 65535) return ALL;
  return term({ kind: "port", from: Math.min(from, to), to: Math.max(from, to) });
}

function looksLikeAddress(word: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(word) || (word.includes(":") && parseIp6(word) !== undefined);
}

function addressPlan(type: "host" | "net", id: string): FilterPlan {
  const [address, lengthText] = id.split("/");
  if (address === undefined) return ALL;
  if (address.includes(":")) {
    const bytes = parseIp6(address);
    const bits = lengthText === undefined ? 128 : Number(lengthText);
    if (bytes === undefined || !Number.isInteger(bits) || bits < 0 || bits > 128) return ALL;
    if (type === "host" && bits !== 128) return ALL;
    return term({ kind: "ip6", prefix: bytes, bits });
  }
  const parts = address.split(".");
  if (parts.length > 4 || parts.some((part) => !/^\d{1,3}$/.test(part) || Number(part) > 255)) return ALL;
  if (type === "host" && parts.length !== 4) return ALL;
  let value = 0;
  for (let i = 0; i < 4; i++) value = value * 256 + Number(parts[i] ?? 0);
  let bits: number;
  if (lengthText === undefined) bits = type === "host" ? 32 : parts.length * 8;
  else if (lengthText.includes(".")) {
    const mask = addressPlan("host", lengthText);
    if (mask.kind !== "term" || mask.term.kind !== "ip4") return ALL;
    bits = maskBits(mask.term.from);
    if (bits < 0) return ALL;
  } else bits = Number(lengthText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) return ALL;
  const size = 2 ** (32 - bits);
  const from = Math.floor(value / size) * size;
  return term({ kind: "ip4", from, to: from + size - 1 });
}

function maskBits(mask: number): number {
  for (let bits = 0; bits <= 32; bits++) {
    if (mask === 2 ** 32 - 2 ** (32 - bits)) return bits;
  }
  return -1;
}

/** Parses an IPv6 address (with `::` and an optional dotted IPv4 tail) into 16 bytes. */
export function parseIp6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string | undefined): number[] | undefined => {
    if (part === undefined || part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (const [index, piece] of pieces.entries()) {
      if (index === pieces.length - 1 && piece.includes(".")) {
        const v4 = piece.split(".").map(Number);
        if (v4.length !== 4 || v4.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) return undefined;
        out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
      } else if (/^[0-9a-f]{1,4}$/.test(piece)) out.push(Number.parseInt(piece, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((group, index) => {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  });
  return bytes;
}

/** Drops what cannot narrow: `x and all` is `x`, `x or all` is `all`. */
function simplify(plan: FilterPlan): FilterPlan {
  if (plan.kind !== "and" && plan.kind !== "or") return plan;
  const left = simplify(plan.left);
  const right = simplify(plan.right);
  if (plan.kind === "and") {
    if (left.kind === "all") return right;
    if (right.kind === "all") return left;
  } else if (left.kind === "all" || right.kind === "all") return ALL;
  return { kind: plan.kind, left, right };
}
