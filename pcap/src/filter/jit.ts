/**
 * Compiles classic BPF to JavaScript with `new Function`, so V8 optimises each filter like
 * hand-written code. Results equal libpcap's interpreter (interpreter.ts is the reference).
 */
import { analyseProgram, successors } from "./analyse.js";
import type { BpfProgram } from "./bpf.js";
import { validateProgram } from "./bpf.js";
import { type CodegenStrategy, generateBody, PARAMS } from "./codegen.js";

/**
 * A compiled filter: true when the packet in `buf[offset .. offset + caplen)`, `wirelen`
 * bytes long on the wire, matches. `caplen` must not exceed `buf.length - offset`.
 */
export type FilterPredicate = (buf: Uint8Array, offset: number, caplen: number, wirelen: number) => boolean;

/** Options of {@link jitFilter}. */
export interface JitOptions {
  /**
   * Shape of the generated code. `auto` (default) uses labelled blocks, and the loop-switch
   * for programs with backward jumps or more jump targets than V8's parser nests safely.
   */
  readonly strategy: "auto" | CodegenStrategy;
  /** Expression the program came from, for error messages. */
  readonly expression: string;
}

/**
 * More jump targets than this and the loop-switch is used: V8's parser recurses per nested
 * block and overflows its stack somewhere past 2000. Programs libpcap optimises in seconds
 * (a few hundred `host` terms) stay well below; a RangeError falls back anyway.
 */
const MAX_NESTED_LABELS = 1500;

/**
 * Validates `program` like libpcap does (FilterError when invalid) and compiles it to a
 * predicate. Compilation costs tens of microseconds; cache the result per program.
 */
export function jitFilter(program: BpfProgram, options: Partial<JitOptions> = {}): FilterPredicate {
  validateProgram(program, options.expression);
  const facts = analyseProgram(program);
  const requested = options.strategy ?? "auto";
  let strategy: CodegenStrategy = requested === "switch" || facts.hasBackwardJumps ? "switch" : "blocks";
  if (requested === "auto" && strategy === "blocks" && countJumpTargets(program) > MAX_NESTED_LABELS) {
    strategy = "switch";
  }
  try {
    return compile(generateBody(program, facts, strategy));
  } catch (error) {
    // A parser stack overflow on deep nesting: the flat shape always parses.
    if (strategy === "blocks" && error instanceof RangeError) {
      return compile(generateBody(program, facts, "switch"));
    }
    throw error;
  }
}

/** The generated source of `program`'s predicate, for debugging and tests. */
export function filterSource(program: BpfProgram, strategy: CodegenStrategy = "blocks"): string {
  validateProgram(program);
  const facts = analyseProgram(program);
  const body = generateBody(program, facts, facts.hasBackwardJumps ? "switch" : strategy);
  return `function (${PARAMS.join(", ")}) {\n${body}\n}`;
}

function compile(body: string): FilterPredicate {
  // The body is generated from validated integers only: no input text reaches it.
  return new Function(...PARAMS, body) as FilterPredicate;
}

function countJumpTargets(program: BpfProgram): number {
  const targets = new Set<number>();
  program.forEach((_, pc) => {
    for (const next of successors(program, pc)) if (next !== pc + 1) targets.add(next);
  });
  return targets.size;
}
