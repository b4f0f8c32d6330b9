/**
 * tcpdump filters with libpcap's exact semantics: expressions compiled by libpcap (through
 * tcpdump), run as JavaScript generated from the BPF program.
 */
export { analyseProgram, type ProgramFacts } from "./analyse.js";
export {
  acceptAllProgram,
  BPF_MEMWORDS,
  Bpf,
  type BpfInsn,
  type BpfProgram,
  MAX_BACKWARD_JUMPS,
  parseBpfDump,
  validateProgram,
} from "./bpf.js";
export type { CodegenStrategy } from "./codegen.js";
export {
  type ByteOrder,
  createFilterCompiler,
  type FilterCompiler,
  type FilterCompilerOptions,
} from "./compile.js";
export {
  compileFilter,
  compileFilterSync,
  createFilter,
  createFilterSync,
  type PacketFilter,
  packetFilter,
  sharedFilterCompiler,
} from "./create-filter.js";
export { interpretFilter, runProgram } from "./interpreter.js";
export { type FilterPredicate, filterSource, type JitOptions, jitFilter } from "./jit.js";
export { cacheableExpression, openProgramCache, type ProgramCache, toolIdentity } from "./program-cache.js";
