/**
 * Reference interpreter for classic BPF: a line-by-line transcription of libpcap's
 * `bpf_filter()` (bpf_filter.c, as in libpcap 1.10). It is the specification the JIT is tested
 * against, and the fallback where generating code is not possible. It is deliberately plain:
 * one `switch` per instruction, no precomputation.
 *
 * Semantics kept from libpcap:
 * - A and X are unsigned 32-bit; arithmetic wraps; packet loads are big-endian.
 * - A load that does not fit in the captured bytes (`caplen`) rejects the packet (returns 0).
 * - Division or modulo by X = 0 rejects; shifts by X >= 32 give 0 (libpcap tests X < 32).
 * - Scratch memory starts zeroed. `ja` may jump backwards (libpcap's `ip6 protochain`).
 * - The result is the returned value: 0 rejects, anything else accepts (for a savefile,
 *   `pcap_offline_filter` keeps the whole packet whatever the non-zero value).
 * Differences, for programs libpcap would not finish: a run that takes more than
 * MAX_BACKWARD_JUMPS backward jumps rejects instead of looping forever.
 */
import {
  BPF_MEMWORDS,
  Bpf,
  type BpfProgram,
  jumpTarget,
  MAX_BACKWARD_JUMPS,
  validateProgram,
} from "./bpf.js";

/** Scratch memory, reused: runs are synchronous and never nest. */
const scratch = new Uint32Array(BPF_MEMWORDS);

/**
 * Runs `program` on one packet and returns libpcap's result (0 = reject). `buf[offset ..
 * offset + caplen)` holds the captured bytes; `wirelen` is the original length.
 * The program must be valid (see validateProgram); `interpretFilter` checks that first.
 */
export function runProgram(
  program: BpfProgram,
  buf: Uint8Array,
  offset: number,
  caplen: number,
  wirelen: number,
): number {
  let a = 0;
  let x = 0;
  const mem = scratch.fill(0);
  let backwardJumps = 0;
  let pc = 0;
  for (;;) {
    const insn = program[pc];
    if (insn === undefined) return 0;
    const { code, jt, jf, k } = insn;
    pc++;
    switch (code) {
      case Bpf.RET | Bpf.K:
        return k;
      case Bpf.RET | Bpf.A:
        return a;
      case Bpf.LD | Bpf.W | Bpf.ABS:
        if (k + 4 > caplen) return 0;
        a = load32(buf, offset + k);
        break;
      case Bpf.LD | Bpf.H | Bpf.ABS:
        if (k + 2 > caplen) return 0;
        a = load16(buf, offset + k);
        break;
      case Bpf.LD | Bpf.B | Bpf.ABS:
        if (k >= caplen) return 0;
        a = byteAt(buf, offset + k);
        break;
      case Bpf.LD | Bpf.W | Bpf.LEN:
        a = wirelen >>> 0;
        break;
      case Bpf.LDX | Bpf.W | Bpf.LEN:
        x = wirelen >>> 0;
        break;
      // Indirect loads: libpcap's checks amount to X + k + size <= caplen in exact arithmetic.
      case Bpf.LD | Bpf.W | Bpf.IND:
        if (x + k + 4 > caplen) return 0;
        a = load32(buf, offset + x + k);
        break;
      case Bpf.LD | Bpf.H | Bpf.IND:
        if (x + k + 2 > caplen) return 0;
        a = load16(buf, offset + x + k);
        break;
      case Bpf.LD | Bpf.B | Bpf.IND:
        if (x + k >= caplen) return 0;
        a = byteAt(buf, offset + x + k);
        break;
      case Bpf.LDX | Bpf.MSH | Bpf.B:
        if (k >= caplen) return 0;
        x = (byteAt(buf, offset + k) & 0xf) << 2;
        break;
      case Bpf.LD | Bpf.IMM:
        a = k;
        break;
      case Bpf.LDX | Bpf.IMM:
        x = k;
        break;
      case Bpf.LD | Bpf.MEM:
        a = mem[k] ?? 0;
        break;
      case Bpf.LDX | Bpf.MEM:
        x = mem[k] ?? 0;
        break;
      case Bpf.ST:
        mem[k] = a;
        break;
      case Bpf.STX:
        mem[k] = x;
        break;
      case Bpf.JMP | Bpf.JA: {
        const target = jumpTarget(pc - 1, k);
        if (target < pc && ++backwardJumps > MAX_BACKWARD_JUMPS) return 0;
        pc = target;
        break;
      }
      case Bpf.JMP | Bpf.JGT | Bpf.K:
        pc += a > k ? jt : jf;
        break;
      case Bpf.JMP | Bpf.JGE | Bpf.K:
        pc += a >= k ? jt : jf;
        break;
      case Bpf.JMP | Bpf.JEQ | Bpf.K:
        pc += a === k ? jt : jf;
        break;
      case Bpf.JMP | Bpf.JSET | Bpf.K:
        pc += (a & k) !== 0 ? jt : jf;
        break;
      case Bpf.JMP | Bpf.JGT | Bpf.X:
        pc += a > x ? jt : jf;
        break;
      case Bpf.JMP | Bpf.JGE | Bpf.X:
        pc += a >= x ? jt : jf;
        break;
      case Bpf.JMP | Bpf.JEQ | Bpf.X:
        pc += a === x ? jt : jf;
        break;
      case Bpf.JMP | Bpf.JSET | Bpf.X:
        pc += (a & x) !== 0 ? jt : jf;
        break;
      case Bpf.MISC | Bpf.TAX:
        x = a;
        break;
      case Bpf.MISC | Bpf.TXA:
        a = x;
        break;
      default: {
        if ((code & 0x07) !== Bpf.ALU) return 0;
        const operand = (code & Bpf.X) === 0 ? k : x;
        const result = alu(code & 0xf0, a, operand);
        if (result < 0) return 0;
        a = result;
      }
    }
  }
}

/** Applies an ALU operation to unsigned A; returns -1 for division or modulo by zero. */
function alu(op: number, a: number, v: number): number {
  switch (op) {
    case Bpf.ADD:
      return (a + v) >>> 0;
    case Bpf.SUB:
      return (a - v) >>> 0;
    case Bpf.MUL:
      return Math.imul(a, v) >>> 0;
    case Bpf.DIV:
      return v === 0 ? -1 : Math.floor(a / v);
    case Bpf.MOD:
      return v === 0 ? -1 : a % v;
    case Bpf.AND:
      return (a & v) >>> 0;
    case Bpf.OR:
      return (a | v) >>> 0;
    case Bpf.XOR:
      return (a ^ v) >>> 0;
    case Bpf.LSH:
      return v < 32 ? (a << v) >>> 0 : 0;
    case Bpf.RSH:
      return v < 32 ? a >>> v : 0;
    case Bpf.NEG:
      return -a >>> 0;
    default:
      return -1;
  }
}

function byteAt(buf: Uint8Array, index: number): number {
  return buf[index] ?? 0;
}

function load16(buf: Uint8Array, index: number): number {
  return (byteAt(buf, index) << 8) | byteAt(buf, index + 1);
}

function load32(buf: Uint8Array, index: number): number {
  return (load16(buf, index) * 0x1_0000 + load16(buf, index + 2)) >>> 0;
}

/**
 * Validates `program`, then returns a predicate that runs it through the reference
 * interpreter: the slow, obviously-correct twin of jitFilter.
 */
export function interpretFilter(
  program: BpfProgram,
): (buf: Uint8Array, offset: number, caplen: number, wirelen: number) => boolean {
  validateProgram(program);
  return (buf, offset, caplen, wirelen) => runProgram(program, buf, offset, caplen, wirelen) !== 0;
}
