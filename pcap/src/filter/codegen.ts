/**
 * Turns a valid classic BPF program into the body of a JavaScript function
 * `(p, o, caplen, wirelen) => boolean`, keeping libpcap's semantics (see interpreter.ts,
 * the reference) while doing as little as possible per packet:
 *
 * - A and X are locals holding unsigned 32-bit numbers, scratch words are locals `m0..m15`:
 *   the function allocates nothing and V8 keeps everything in registers.
 * - Bounds: a run rejects as soon as a load overruns caplen, and `required` (analyse.ts) says
 *   how many bytes any accepting path needs. So one `caplen < N` test at entry, and another
 *   only where a load reaches past what earlier tests proved, replace a test per load.
 * - Jumps to `ret` are inlined as `return`; code after an unconditional transfer is dropped.
 *
 * Two control-flow shapes:
 * - "blocks": cBPF only jumps forward, so every jump target t gets a labelled block that
 *   opens at the top of the function and closes right before t; a jump is `break Lt`. The
 *   blocks nest perfectly (each starts at the top), code is straight-line, and V8 builds the
 *   same control-flow graph a C compiler would.
 * - "switch": `for (;;) switch (pc)` over the basic blocks, for programs with backward
 *   jumps (`ip6 protochain`) or too many targets to nest (V8's parser recurses per block).
 */
import { absLoadEnd, NEVER, type ProgramFacts } from "./analyse.js";
import { Bpf, type BpfInsn, type BpfProgram, jumpTarget, MAX_BACKWARD_JUMPS } from "./bpf.js";

/** Control-flow shape of the generated code. */
export type CodegenStrategy = "blocks" | "switch";

/** Parameter names of the generated function, in order. */
export const PARAMS = ["p", "o", "caplen", "wirelen"] as const;

/** Generates the function body for `program` (valid, analysed) with `strategy`. */
export function generateBody(program: BpfProgram, facts: ProgramFacts, strategy: CodegenStrategy): string {
  const { required } = facts;
  const entryNeed = required[0] ?? 0;
  if (entryNeed === NEVER) return '"use strict";\nreturn false;';

  const useBounds = !facts.hasBackwardJumps;
  const loopTargets = new Set<number>(strategy === "switch" ? [0] : []);
  if (strategy === "switch") {
    program.forEach((insn, pc) => {
      if (isJa(insn) && jumpTarget(pc, insn.k) <= pc) loopTargets.add(jumpTarget(pc, insn.k));
    });
  }
  const labels = new Set<number>();
  const known: number[] = new Array<number>(program.length).fill(NEVER);
  known[0] = useBounds ? entryNeed : 0;
  const out: string[] = [];
  let live = true;

  /** Statement moving control from `pc` to `target` with `bound` proven; "" = fall through. */
  const transfer = (pc: number, target: number, bound: number): string => {
    const insn = program[target];
    if (insn === undefined) return "return false;";
    if ((useBounds && required[target] === NEVER) || (insn.code === (Bpf.RET | Bpf.K) && insn.k === 0)) {
      return "return false;";
    }
    if (insn.code === (Bpf.RET | Bpf.K)) return "return true;";
    if (insn.code === (Bpf.RET | Bpf.A)) return "return A !== 0;";
    known[target] = Math.min(known[target] ?? NEVER, bound);
    if (target === pc + 1) return "";
    if (strategy === "blocks") {
      labels.add(target);
      return `break L${target};`;
    }
    loopTargets.add(target);
    const guard = target <= pc ? `if (++bj > ${MAX_BACKWARD_JUMPS}) return false; ` : "";
    return `${guard}pc = @${target}@; continue;`;
  };

  program.forEach((insn, pc) => {
    if (strategy === "blocks" && labels.has(pc)) {
      out.push(`}`);
      live = true;
    } else if (strategy === "switch" && loopTargets.has(pc)) {
      out.push(`case @${pc}@:`);
      live = true;
    }
    if (!live || !facts.reachable[pc]) {
      live = false;
      return;
    }
    let bound = useBounds ? (known[pc] ?? 0) : 0;
    const cls = insn.code & 0x07;
    if (useBounds && required[pc] === NEVER) {
      out.push("return false;");
      live = false;
      return;
    }
    if (cls === Bpf.RET) {
      out.push(insn.code === (Bpf.RET | Bpf.K) ? `return ${insn.k !== 0};` : "return A !== 0;");
      live = false;
      return;
    }
    if (cls === Bpf.JMP) {
      if (isJa(insn)) {
        const stmt = transfer(pc, jumpTarget(pc, insn.k), bound);
        if (stmt !== "") out.push(stmt);
        live = stmt === "";
        return;
      }
      const t = transfer(pc, pc + 1 + insn.jt, bound);
      const f = transfer(pc, pc + 1 + insn.jf, bound);
      if (t === f) {
        if (t !== "") out.push(t);
        live = t === "";
      } else if (f === "") {
        out.push(`if (${condition(insn, false)}) { ${t} }`);
      } else if (t === "") {
        out.push(`if (${condition(insn, true)}) { ${f} }`);
      } else {
        out.push(`if (${condition(insn, false)}) { ${t} }`, f);
        live = false;
      }
      return;
    }
    const end = absLoadEnd(insn);
    if (end !== undefined && end > bound) {
      // Test what every accepting path from here needs, not just this load: it proves more.
      const need = useBounds ? (required[pc] ?? end) : end;
      out.push(`if (caplen < ${need}) return false;`);
      bound = need;
    }
    out.push(statement(insn));
    transfer(pc, pc + 1, bound);
  });

  const mem = [...facts.memWords].map((word) => `, m${word} = 0`).join("");
  const head = `"use strict";\nlet A = 0, X = 0, j = 0${mem}${facts.hasBackwardJumps ? ", bj = 0" : ""};`;
  const entry = useBounds && entryNeed > 0 ? `\nif (caplen < ${entryNeed}) return false;` : "";
  if (strategy === "blocks") {
    const open = [...labels]
      .sort((a, b) => b - a)
      .map((target) => `L${target}: {`)
      .join("\n");
    return `${head}${entry}\n${open}\n${out.join("\n")}\nreturn false;`;
  }
  // Number the cases densely from 0 so V8 dispatches through a jump table, not a search.
  const dense = new Map(
    [...loopTargets].sort((a, b) => a - b).map((target, index) => [String(target), index]),
  );
  const cases = out.join("\n").replace(/@(\d+)@/g, (_, target: string) => String(dense.get(target)));
  return `${head}${entry}\nlet pc = 0;\nfor (;;) {\nswitch (pc) {\n${cases}\n}\nreturn false;\n}`;
}

function isJa(insn: BpfInsn): boolean {
  return insn.code === (Bpf.JMP | Bpf.JA);
}

/** The condition of a conditional jump, or its negation. */
function condition(insn: BpfInsn, negate: boolean): string {
  const operand = (insn.code & Bpf.X) === 0 ? String(insn.k) : "X";
  switch (insn.code & 0xf0) {
    case Bpf.JGT:
      return negate ? `A <= ${operand}` : `A > ${operand}`;
    case Bpf.JGE:
      return negate ? `A < ${operand}` : `A >= ${operand}`;
    case Bpf.JEQ:
      return negate ? `A !== ${operand}` : `A === ${operand}`;
    default: {
      const mask = operand === "X" ? "X" : String(insn.k | 0);
      return `(A & ${mask}) ${negate ? "===" : "!=="} 0`;
    }
  }
}

/** Bytes at `index` (a JS expression) as a big-endian load of `size` bytes. */
function packetLoad(size: number, index: (delta: number) => string): string {
  if (size === Bpf.B) return `p[${index(0)}]`;
  if (size === Bpf.H) return `(p[${index(0)}] << 8 | p[${index(1)}])`;
  return `(p[${index(0)}] << 24 | p[${index(1)}] << 16 | p[${index(2)}] << 8 | p[${index(3)}]) >>> 0`;
}

/** Code of a non-jump, non-return instruction (bounds for constant loads are handled outside). */
function statement(insn: BpfInsn): string {
  const { code, k } = insn;
  const size = code & 0x18;
  switch (code & 0x07) {
    case Bpf.LD:
      switch (code & 0xe0) {
        case Bpf.ABS:
          return `A = ${packetLoad(size, (d) => `o + ${k + d}`)};`;
        case Bpf.IND: {
          const width = size === Bpf.W ? 4 : size === Bpf.H ? 2 : 1;
          return `j = X + ${k}; if (j > caplen - ${width}) return false; j += o; A = ${packetLoad(size, (d) => (d === 0 ? "j" : `j + ${d}`))};`;
        }
        case Bpf.MEM:
          return `A = m${k};`;
        case Bpf.LEN:
          return "A = wirelen >>> 0;";
        default:
          return `A = ${k};`;
      }
    case Bpf.LDX:
      switch (code & 0xe0) {
        case Bpf.MSH:
          return `X = (p[o + ${k}] & 15) << 2;`;
        case Bpf.MEM:
          return `X = m${k};`;
        case Bpf.LEN:
          return "X = wirelen >>> 0;";
        default:
          return `X = ${k};`;
      }
    case Bpf.ST:
      return `m${k} = A;`;
    case Bpf.STX:
      return `m${k} = X;`;
    case Bpf.ALU:
      return alu(code & 0xf0, (code & Bpf.X) === 0 ? String(k) : "X", code & Bpf.X);
    default:
      return (code & 0xf8) === Bpf.TAX ? "X = A;" : "A = X;";
  }
}

function alu(op: number, v: string, fromX: number): string {
  const signed = fromX ? "X" : String(Number(v) | 0);
  const zeroCheck = fromX ? "if (X === 0) return false; " : "";
  switch (op) {
    case Bpf.ADD:
      return `A = (A + ${v}) >>> 0;`;
    case Bpf.SUB:
      return `A = (A - ${v}) >>> 0;`;
    case Bpf.MUL:
      return `A = Math.imul(A, ${signed}) >>> 0;`;
    case Bpf.DIV:
      return `${zeroCheck}A = (A / ${v}) >>> 0;`;
    case Bpf.MOD:
      return `${zeroCheck}A = A % ${v};`;
    case Bpf.AND:
      return `A = (A & ${signed}) >>> 0;`;
    case Bpf.OR:
      return `A = (A | ${signed}) >>> 0;`;
    case Bpf.XOR:
      return `A = (A ^ ${signed}) >>> 0;`;
    case Bpf.LSH:
      return fromX ? "A = X < 32 ? (A << X) >>> 0 : 0;" : `A = (A << ${v}) >>> 0;`;
    case Bpf.RSH:
      return fromX ? "A = X < 32 ? A >>> X : 0;" : `A = A >>> ${v};`;
    default:
      return "A = -A >>> 0;";
  }
}
