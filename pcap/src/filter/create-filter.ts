/**
 * The convenient entry points: compile an expression with the process-wide default
 * compiler and get a ready-to-run filter.
 */
import { MAX_CAPLEN, type PacketRecord } from "../types.js";
import type { BpfProgram } from "./bpf.js";
import { type ByteOrder, createFilterCompiler, type FilterCompiler } from "./compile.js";
import { type FilterPredicate, jitFilter } from "./jit.js";

/** A compiled, JIT-ed tcpdump filter for one link type. */
export interface PacketFilter {
  /** The expression as given. */
  readonly expression: string;
  /** LINKTYPE_* the program was compiled for; records of another link type must not be tested. */
  readonly linkType: number;
  /** Snaplen the program was compiled for. */
  readonly snaplen: number;
  /** The classic BPF program libpcap compiled. */
  readonly program: BpfProgram;
  /** True when the expression is empty: every packet matches (skip calling `test`). */
  readonly matchesAll: boolean;
  /** Tests raw bytes: see {@link FilterPredicate}. */
  readonly test: FilterPredicate;
  /** Tests a reader's record (its `buf`, `dataOffset`, `caplen`, `origLen`). */
  matches(record: PacketRecord): boolean;
}

let defaultCompiler: FilterCompiler | undefined;

/**
 * The compiler used by {@link compileFilter} and {@link createFilter}: created on first use,
 * its temporary directory removed when the process exits.
 */
export function sharedFilterCompiler(): FilterCompiler {
  if (defaultCompiler === undefined) {
    const compiler = createFilterCompiler();
    process.once("exit", () => compiler.close());
    defaultCompiler = compiler;
  }
  return defaultCompiler;
}

/**
 * Compiles a tcpdump expression to classic BPF exactly as `tcpdump -r FILE EXPR` would for a
 * capture of `linkType`, `snaplen` (default MAX_CAPLEN) and `byteOrder` (default: this
 * host's). Throws FilterError with libpcap's message when libpcap rejects it, AppError
 * `unavailable` when tcpdump is not installed. An empty expression matches everything and
 * runs nothing.
 */
export function compileFilter(
  expression: string,
  linkType: number,
  snaplen?: number,
  byteOrder?: ByteOrder,
): Promise<BpfProgram> {
  return sharedFilterCompiler().compile(expression, linkType, snaplen, byteOrder);
}

/** Blocking {@link compileFilter}, for CLIs. */
export function compileFilterSync(
  expression: string,
  linkType: number,
  snaplen?: number,
  byteOrder?: ByteOrder,
): BpfProgram {
  return sharedFilterCompiler().compileSync(expression, linkType, snaplen, byteOrder);
}

/** Compiles and JITs `expression` for `linkType`: see {@link compileFilter}. */
export async function createFilter(
  expression: string,
  linkType: number,
  snaplen?: number,
  byteOrder?: ByteOrder,
): Promise<PacketFilter> {
  const program = await compileFilter(expression, linkType, snaplen, byteOrder);
  return packetFilter(expression, linkType, snaplen ?? MAX_CAPLEN, program);
}

/** Blocking {@link createFilter}. */
export function createFilterSync(
  expression: string,
  linkType: number,
  snaplen?: number,
  byteOrder?: ByteOrder,
): PacketFilter {
  const program = compileFilterSync(expression, linkType, snaplen, byteOrder);
  return packetFilter(expression, linkType, snaplen ?? MAX_CAPLEN, program);
}

/** JIT-ed predicates per program object; compilers hand out the same object for a cache hit. */
const predicates = new WeakMap<BpfProgram, FilterPredicate>();

/** Wraps an already compiled program (e.g. one received from elsewhere) as a PacketFilter. */
export function packetFilter(
  expression: string,
  linkType: number,
  snaplen: number,
  program: BpfProgram,
): PacketFilter {
  let test = predicates.get(program);
  if (test === undefined) {
    test = jitFilter(program, { expression });
    predicates.set(program, test);
  }
  const predicate = test;
  return {
    expression,
    linkType,
    snaplen,
    program,
    matchesAll: expression.trim() === "",
    test: predicate,
    matches: function matches(record: PacketRecord): boolean {
      return predicate(record.buf, record.dataOffset, record.caplen, record.origLen);
    },
  };
}
