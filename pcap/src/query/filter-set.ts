/**
 * The filters of one slice: the expression compiled by libpcap once per capture format that
 * occurs in the store, i.e. per (link type, snaplen, byte order) — the three header facts libpcap
 * compiles differently for (LINKTYPE_NULL address families are host-order of the capturing
 * machine, so a big-endian file needs other constants). Programs are JIT-ed once and shared by
 * every file of that format.
 */
import type { BpfProgram } from "../filter/bpf.js";
import type { FilterCompiler } from "../filter/compile.js";
import { sharedFilterCompiler } from "../filter/create-filter.js";
import { type FilterPredicate, jitFilter } from "../filter/jit.js";
import { FilterError, MAX_CAPLEN } from "../types.js";

/** The header facts a compiled program depends on. */
export interface FilterKey {
  /** LINKTYPE_* of the packets. */
  readonly linkType: number;
  /** The file's snapshot length as libpcap uses it (see {@link effectiveSnaplen}). */
  readonly snaplen: number;
  /** Byte order of the file header. */
  readonly littleEndian: boolean;
}

/** A compiled filter for one key: its program and predicate, or why libpcap refused it. */
export type CompiledFilter =
  | { readonly ok: true; readonly program: BpfProgram; readonly test: FilterPredicate | null }
  | { readonly ok: false; readonly error: FilterError };

/**
 * libpcap's snapshot length for a file header value: 0 and values above the maximum mean the
 * maximum (pcap-common.c, max_snaplen_for_dlt). Records longer than it are cut to it before the
 * filter runs.
 */
export function effectiveSnaplen(snaplen: number): number {
  return snaplen <= 0 || snaplen > MAX_CAPLEN ? MAX_CAPLEN : snaplen;
}

/** Cache key of a {@link FilterKey}. */
export function filterKeyString(key: FilterKey): string {
  return `${key.linkType}/${key.snaplen}/${key.littleEndian ? "LE" : "BE"}`;
}

/** The expression's programs, per {@link FilterKey}. */
export class FilterSet {
  /** The expression as given. */
  readonly expression: string;
  /** True for an empty expression: every packet matches and no program runs. */
  readonly matchesAll: boolean;
  private readonly compiled = new Map<string, CompiledFilter>();
  private readonly compiler: FilterCompiler;

  /**
   * A set for `expression`; call {@link FilterSet.prepare} before {@link FilterSet.get}.
   * `compiler` runs libpcap (default: the process-wide {@link sharedFilterCompiler}).
   */
  constructor(expression: string, compiler?: FilterCompiler) {
    this.expression = expression;
    this.matchesAll = expression.trim() === "";
    this.compiler = compiler ?? sharedFilterCompiler();
  }

  /**
   * Compiles the expression for every key (concurrently, one tcpdump run each). A key libpcap
   * refuses is remembered as such; when it refuses every key, its error is thrown: the
   * expression is wrong, not one file.
   */
  async prepare(keys: readonly FilterKey[]): Promise<void> {
    const wanted = new Map<string, FilterKey>();
    for (const key of keys) {
      const name = filterKeyString(key);
      if (!this.compiled.has(name)) wanted.set(name, key);
    }
    await Promise.all(
      [...wanted].map(async ([name, key]) => {
        try {
          const program = await this.compiler.compile(
            this.expression,
            key.linkType,
            key.snaplen,
            key.littleEndian ? "LE" : "BE",
          );
          this.compiled.set(name, this.accept(program));
        } catch (error) {
          if (!(error instanceof FilterError)) throw error;
          this.compiled.set(name, { ok: false, error });
        }
      }),
    );
    const results = [...this.compiled.values()];
    const failed = results.find((result) => !result.ok);
    if (failed !== undefined && !failed.ok && results.every((result) => !result.ok)) throw failed.error;
  }

  /**
   * The filter for `key`. A key not prepared (a pcapng interface declared after the first
   * packet) is compiled now, blocking: it is rare, and the packet loop that needs it is synchronous.
   */
  get(key: FilterKey): CompiledFilter {
    const name = filterKeyString(key);
    const known = this.compiled.get(name);
    if (known !== undefined) return known;
    let result: CompiledFilter;
    try {
      const program = this.compiler.compileSync(
        this.expression,
        key.linkType,
        key.snaplen,
        key.littleEndian ? "LE" : "BE",
      );
      result = this.accept(program);
    } catch (error) {
      if (!(error instanceof FilterError)) throw error;
      result = { ok: false, error };
    }
    this.compiled.set(name, result);
    return result;
  }

  private accept(program: BpfProgram): CompiledFilter {
    return {
      ok: true,
      program,
      test: this.matchesAll ? null : jitFilter(program, { expression: this.expression }),
    };
  }
}
