/**
 * Classic BPF vocabulary: instruction encoding, the validity rules libpcap applies before it
 * runs a program (`pcap_validate_filter`), and the parser of `tcpdump -ddd` output.
 */
import { FilterError } from "../types.js";

/** One classic BPF instruction, as `struct bpf_insn`. */
export interface BpfInsn {
  /** Opcode: class | size | mode, or class | op | source. */
  readonly code: number;
  /** Forward offset taken when a conditional jump is true. */
  readonly jt: number;
  /** Forward offset taken when a conditional jump is false. */
  readonly jf: number;
  /** Constant operand, unsigned 32-bit. */
  readonly k: number;
}

/** A classic BPF program: what libpcap's `pcap_compile` produces. */
export type BpfProgram = readonly BpfInsn[];

/** Opcode fields (`pcap/bpf.h`). */
export const Bpf = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  RET: 0x06,
  MISC: 0x07,
  W: 0x00,
  H: 0x08,
  B: 0x10,
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  LEN: 0x80,
  MSH: 0xa0,
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  K: 0x00,
  X: 0x08,
  A: 0x10,
  TAX: 0x00,
  TXA: 0x80,
} as const;

/** Number of scratch memory words (`BPF_MEMWORDS`). */
export const BPF_MEMWORDS = 16;

/**
 * Lowest `k` of the Linux negative-offset loads (`SKF_LL_OFF`; `SKF_NET_OFF` and the
 * ancillary `SKF_AD_OFF` lie above it). libpcap only emits them for live Linux sockets.
 */
export const SKF_LL_OFF = 0xffe0_0000;

/**
 * Backward jumps one run may take before it rejects the packet. libpcap 1.10 has no limit
 * (a crafted AH chain makes `ip6 protochain` loop forever); libpcap master stops at 64, which
 * would change results for long, legitimate extension-header chains. A header is at least
 * 8 bytes, so no terminating run on a packet of at most MAX_CAPLEN bytes comes near this.
 */
export const MAX_BACKWARD_JUMPS = 65_536;

/** Opcodes the libpcap interpreter executes (`pcapint_valid_insn`, libpcap master). */
const validCodes: ReadonlySet<number> = new Set(
  [
    [Bpf.RET, Bpf.K],
    [Bpf.RET, Bpf.A],
    [Bpf.LD, Bpf.W, Bpf.ABS],
    [Bpf.LD, Bpf.H, Bpf.ABS],
    [Bpf.LD, Bpf.B, Bpf.ABS],
    [Bpf.LD, Bpf.W, Bpf.LEN],
    [Bpf.LDX, Bpf.W, Bpf.LEN],
    [Bpf.LD, Bpf.W, Bpf.IND],
    [Bpf.LD, Bpf.H, Bpf.IND],
    [Bpf.LD, Bpf.B, Bpf.IND],
    [Bpf.LDX, Bpf.MSH, Bpf.B],
    [Bpf.LD, Bpf.IMM],
    [Bpf.LDX, Bpf.IMM],
    [Bpf.LD, Bpf.MEM],
    [Bpf.LDX, Bpf.MEM],
    [Bpf.ST],
    [Bpf.STX],
    [Bpf.JMP, Bpf.JA],
    ...[Bpf.JGT, Bpf.JGE, Bpf.JEQ, Bpf.JSET].flatMap((op) => [
      [Bpf.JMP, op, Bpf.K],
      [Bpf.JMP, op, Bpf.X],
    ]),
    ...[Bpf.ADD, Bpf.SUB, Bpf.MUL, Bpf.DIV, Bpf.MOD, Bpf.AND, Bpf.OR, Bpf.XOR, Bpf.LSH, Bpf.RSH].flatMap(
      (op) => [
        [Bpf.ALU, op, Bpf.K],
        [Bpf.ALU, op, Bpf.X],
      ],
    ),
    [Bpf.ALU, Bpf.NEG],
    [Bpf.MISC, Bpf.TAX],
    [Bpf.MISC, Bpf.TXA],
  ].map((parts: readonly number[]) => parts.reduce((code, part) => code | part, 0)),
);

/** Target of the unconditional jump at `pc` (its `k` is signed: protochain jumps back). */
export function jumpTarget(pc: number, k: number): number {
  return pc + 1 + (k | 0);
}

/** True when `code` is a constant-offset packet load (`ld`/`ldh`/`ldb [k]`). */
export function isAbsLoad(code: number): boolean {
  return (code & 0x07) === Bpf.LD && (code & 0xe0) === Bpf.ABS;
}

/**
 * Checks a program the way libpcap does before it installs a filter, plus two rules of
 * ours: no Linux negative-offset loads (they only work on live sockets) and integer fields.
 * Throws FilterError naming the first bad instruction.
 */
export function validateProgram(program: BpfProgram, expression = "<bpf>"): void {
  const fail = (pc: number, why: string): never => {
    throw new FilterError(expression, `invalid BPF program: instruction ${pc}: ${why}`);
  };
  const len = program.length;
  if (len === 0) throw new FilterError(expression, "invalid BPF program: empty");
  program.forEach((insn, pc) => {
    const { code, jt, jf, k } = insn;
    if (!isField(code, 0xffff) || !isField(jt, 0xff) || !isField(jf, 0xff) || !isField(k, 0xffff_ffff)) {
      fail(pc, "field out of range");
    }
    if (!validCodes.has(code)) fail(pc, `unknown opcode 0x${code.toString(16)}`);
    const cls = code & 0x07;
    const mode = code & 0xe0;
    const op = code & 0xf0;
    if (((cls === Bpf.LD || cls === Bpf.LDX) && mode === Bpf.MEM) || cls === Bpf.ST || cls === Bpf.STX) {
      if (k >= BPF_MEMWORDS) fail(pc, `scratch memory index ${k} out of range`);
    }
    if (isAbsLoad(code) && k >= SKF_LL_OFF) {
      fail(pc, "Linux ancillary/negative-offset load (SKF_AD_*): only valid on a live socket, not a file");
    }
    if (cls === Bpf.ALU && (code & Bpf.X) === 0) {
      if ((op === Bpf.DIV || op === Bpf.MOD) && k === 0) fail(pc, "division by constant zero");
      if ((op === Bpf.LSH || op === Bpf.RSH) && k >= 32) fail(pc, "constant shift by more than 31 bits");
    }
    if (cls === Bpf.JMP) {
      if (op === Bpf.JA) {
        const target = jumpTarget(pc, k);
        if (target < 0 || target >= len) fail(pc, "jump out of range");
        if (target === pc) fail(pc, "jump to itself");
      } else if (pc + 1 + jt >= len || pc + 1 + jf >= len) {
        fail(pc, "jump out of range");
      }
    }
  });
  const last = program[len - 1];
  if (last === undefined || (last.code & 0x07) !== Bpf.RET) {
    fail(len - 1, "program does not end with a return");
  }
}

function isField(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}

/**
 * Parses `tcpdump -ddd` output: a count line, then one `code jt jf k` line per instruction,
 * all decimal. Throws a plain Error on anything else (a tcpdump we do not understand).
 */
export function parseBpfDump(text: string): BpfProgram {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  const count = Number(lines[0]);
  if (!Number.isInteger(count) || count < 1 || lines.length !== count + 1) {
    throw new Error(`unexpected tcpdump -ddd output: ${JSON.stringify(text.slice(0, 200))}`);
  }
  return Object.freeze(
    lines.slice(1).map((line) => {
      const fields = line.trim().split(/\s+/).map(Number);
      const [code, jt, jf, k] = fields;
      if (
        fields.length !== 4 ||
        code === undefined ||
        jt === undefined ||
        jf === undefined ||
        k === undefined ||
        !fields.every(Number.isInteger)
      ) {
        throw new Error(`unexpected tcpdump -ddd line: ${JSON.stringify(line)}`);
      }
      // tcpdump prints k as unsigned; normalise anyway so a signed print cannot slip through.
      return Object.freeze({ code, jt, jf, k: k >>> 0 });
    }),
  );
}

/** The program libpcap compiles from an empty expression: accept every packet. */
export function acceptAllProgram(snaplen: number): BpfProgram {
  return Object.freeze([Object.freeze({ code: Bpf.RET | Bpf.K, jt: 0, jf: 0, k: snaplen >>> 0 })]);
}
