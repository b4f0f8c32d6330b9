/**
 * Static facts about a valid BPF program that let the JIT drop work without changing a
 * single result: reachability, jump targets, and how many captured bytes a packet needs
 * before the program can possibly accept it.
 */
import { Bpf, type BpfInsn, type BpfProgram, jumpTarget } from "./bpf.js";

/** Stands for "no packet length is enough": every path from here rejects. */
export const NEVER = Number.POSITIVE_INFINITY;

/** What the code generators need to know about a program. */
export interface ProgramFacts {
  /** Some `ja` jumps backwards (`ip6 protochain`): the control flow has cycles. */
  readonly hasBackwardJumps: boolean;
  /** Per instruction: can a run reach it? */
  readonly reachable: readonly boolean[];
  /**
   * Per instruction: the smallest caplen with which a run starting here can accept, i.e. the
   * minimum over accepting paths of the largest constant-offset load end on the path;
   * NEVER when no path accepts. With cycles it is computed as 0 (no claim) except at `ret #0`.
   */
  readonly required: readonly number[];
  /** Scratch memory words the program touches. */
  readonly memWords: ReadonlySet<number>;
}

/** End (offset + size) of a constant-offset packet load, or undefined for other instructions. */
export function absLoadEnd(insn: BpfInsn): number | undefined {
  const { code, k } = insn;
  if (code === (Bpf.LDX | Bpf.MSH | Bpf.B)) return k + 1;
  if ((code & 0x07) !== Bpf.LD || (code & 0xe0) !== Bpf.ABS) return undefined;
  const size = code & 0x18;
  return k + (size === Bpf.W ? 4 : size === Bpf.H ? 2 : 1);
}

/** Indices an instruction can continue at (empty for a return). */
export function successors(program: BpfProgram, pc: number): number[] {
  const insn = program[pc];
  if (insn === undefined) return [];
  const cls = insn.code & 0x07;
  if (cls === Bpf.RET) return [];
  if (cls !== Bpf.JMP) return [pc + 1];
  if ((insn.code & 0xf0) === Bpf.JA) return [jumpTarget(pc, insn.k)];
  return insn.jt === insn.jf ? [pc + 1 + insn.jt] : [pc + 1 + insn.jt, pc + 1 + insn.jf];
}

/** Computes ProgramFacts for a program that passed validateProgram. */
export function analyseProgram(program: BpfProgram): ProgramFacts {
  const n = program.length;
  let hasBackwardJumps = false;
  const memWords = new Set<number>();
  program.forEach((insn, pc) => {
    const cls = insn.code & 0x07;
    if (cls === Bpf.JMP && (insn.code & 0xf0) === Bpf.JA && jumpTarget(pc, insn.k) <= pc) {
      hasBackwardJumps = true;
    }
    const mode = insn.code & 0xe0;
    if (cls === Bpf.ST || cls === Bpf.STX || ((cls === Bpf.LD || cls === Bpf.LDX) && mode === Bpf.MEM)) {
      memWords.add(insn.k);
    }
  });

  const reachable = new Array<boolean>(n).fill(false);
  const stack = [0];
  reachable[0] = true;
  for (let pc = stack.pop(); pc !== undefined; pc = stack.pop()) {
    for (const next of successors(program, pc)) {
      if (!reachable[next]) {
        reachable[next] = true;
        stack.push(next);
      }
    }
  }

  const required = new Array<number>(n).fill(0);
  for (let pc = n - 1; pc >= 0; pc--) {
    const insn = program[pc];
    if (insn === undefined) continue;
    if ((insn.code & 0x07) === Bpf.RET) {
      required[pc] = insn.code === (Bpf.RET | Bpf.K) && insn.k === 0 ? NEVER : 0;
      continue;
    }
    // With cycles a single backward pass is not a fixpoint: claim nothing.
    if (hasBackwardJumps) continue;
    const next = successors(program, pc).reduce((min, s) => Math.min(min, required[s] ?? 0), NEVER);
    required[pc] = Math.max(absLoadEnd(insn) ?? 0, next);
  }
  return { hasBackwardJumps, reachable, required, memWords };
}
