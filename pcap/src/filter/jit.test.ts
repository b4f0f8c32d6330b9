import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FilterError } from "../types.js";
import { absLoadEnd } from "./analyse.js";
import { Bpf, type BpfInsn, type BpfProgram, MAX_BACKWARD_JUMPS, SKF_LL_OFF } from "./bpf.js";
import { interpretFilter, runProgram } from "./interpreter.js";
import { type FilterPredicate, filterSource, jitFilter } from "./jit.js";

const op = (code: number, k = 0, jt = 0, jf = 0): BpfInsn => ({ code, jt, jf, k: k >>> 0 });
const retA = op(Bpf.RET | Bpf.A);
const ret = (k: number) => op(Bpf.RET | Bpf.K, k);
const ldImm = (k: number) => op(Bpf.LD | Bpf.IMM, k);
const ldxImm = (k: number) => op(Bpf.LDX | Bpf.IMM, k);
const aluK = (alu: number, k: number) => op(Bpf.ALU | alu | Bpf.K, k);
const aluX = (alu: number) => op(Bpf.ALU | alu | Bpf.X);

/** Every engine on one packet: they must agree, and the answer is returned. */
function runAll(program: BpfProgram, data: number[], caplen = data.length, wirelen = data.length): boolean {
  const buf = Buffer.from([7, 7, ...data, 9]);
  const engines: FilterPredicate[] = [
    jitFilter(program, { strategy: "blocks" }),
    jitFilter(program, { strategy: "switch" }),
    interpretFilter(program),
  ];
  const results = engines.map((f) => f(buf, 2, caplen, wirelen));
  expect(new Set(results).size, `engines disagree: ${results.join(",")}`).toBe(1);
  return results[0] ?? false;
}

/** What the program leaves in A, checked through `jeq`: runs with every engine. */
function resultA(setup: BpfInsn[], expected: number, data: number[] = []): boolean {
  return runAll([...setup, op(Bpf.JMP | Bpf.JEQ | Bpf.K, expected, 0, 1), ret(1), ret(0)], data);
}

describe("jitFilter semantics (libpcap bpf_filter)", () => {
  it("wraps arithmetic at 32 bits, unsigned", () => {
    expect(resultA([ldImm(0xffff_ffff), aluK(Bpf.ADD, 2)], 1)).toBe(true);
    expect(resultA([ldImm(1), aluK(Bpf.SUB, 2)], 0xffff_ffff)).toBe(true);
    expect(
      resultA(
        [ldImm(0x1234_5678), aluK(Bpf.MUL, 0x9abc_def0)],
        Number((0x12345678n * 0x9abcdef0n) & 0xffffffffn),
      ),
    ).toBe(true);
    expect(resultA([ldImm(0xffff_fff0), aluK(Bpf.DIV, 3)], Math.floor(0xffff_fff0 / 3))).toBe(true);
    expect(resultA([ldImm(0xffff_fff0), aluK(Bpf.MOD, 7)], 0xffff_fff0 % 7)).toBe(true);
    expect(resultA([ldImm(5), aluK(Bpf.NEG, 0)], 0xffff_fffb)).toBe(true);
    expect(resultA([ldImm(0x8000_0001), aluK(Bpf.AND, 0x8000_0000)], 0x8000_0000)).toBe(true);
    expect(resultA([ldImm(0xf0), aluK(Bpf.XOR, 0xffff_ffff)], 0xffff_ff0f)).toBe(true);
    expect(resultA([ldImm(1), aluK(Bpf.LSH, 31)], 0x8000_0000)).toBe(true);
    expect(resultA([ldImm(0x8000_0000), aluK(Bpf.RSH, 31)], 1)).toBe(true);
  });

  it("gives 0 for shifts by X >= 32 (libpcap tests X < 32; JS would mask the count)", () => {
    expect(resultA([ldxImm(33), ldImm(1), aluX(Bpf.LSH)], 0)).toBe(true);
    expect(resultA([ldxImm(32), ldImm(0xffff_ffff), aluX(Bpf.RSH)], 0)).toBe(true);
    expect(resultA([ldxImm(31), ldImm(3), aluX(Bpf.LSH)], 0x8000_0000)).toBe(true);
  });

  it("rejects on division or modulo by X = 0", () => {
    expect(runAll([ldxImm(0), ldImm(9), aluX(Bpf.DIV), ret(1)], [])).toBe(false);
    expect(runAll([ldxImm(0), ldImm(9), aluX(Bpf.MOD), ret(1)], [])).toBe(false);
    expect(resultA([ldxImm(4), ldImm(9), aluX(Bpf.MOD)], 1)).toBe(true);
  });

  it("loads big-endian and rejects any load past caplen", () => {
    const data = [0x80, 0x01, 0x02, 0x03, 0x04];
    expect(resultA([op(Bpf.LD | Bpf.W | Bpf.ABS, 1)], 0x0102_0304, data)).toBe(true);
    expect(resultA([op(Bpf.LD | Bpf.W | Bpf.ABS, 0)], 0x8001_0203, data)).toBe(true);
    expect(resultA([op(Bpf.LD | Bpf.H | Bpf.ABS, 3)], 0x0304, data)).toBe(true);
    const word2 = [op(Bpf.LD | Bpf.W | Bpf.ABS, 2), ret(1)];
    expect(runAll(word2, data)).toBe(false);
    expect(runAll(word2, data, 6)).toBe(true);
    expect(runAll([op(Bpf.LD | Bpf.B | Bpf.ABS, 4), ret(1)], data, 4)).toBe(false);
    expect(runAll([op(Bpf.LD | Bpf.B | Bpf.ABS, SKF_LL_OFF - 1), ret(1)], data)).toBe(false);
  });

  it("checks indirect loads against X + k", () => {
    const data = [0x45, 1, 2, 3, 4, 5, 6, 7];
    expect(resultA([ldxImm(2), op(Bpf.LD | Bpf.H | Bpf.IND, 3)], 0x0506, data)).toBe(true);
    expect(runAll([ldxImm(4), op(Bpf.LD | Bpf.W | Bpf.IND, 1), ret(1)], data)).toBe(false);
    expect(runAll([ldxImm(4), op(Bpf.LD | Bpf.W | Bpf.IND, 0), ret(1)], data)).toBe(true);
    expect(runAll([ldxImm(0xffff_ffff), op(Bpf.LD | Bpf.B | Bpf.IND, 1), ret(1)], data)).toBe(false);
    expect(resultA([op(Bpf.LDX | Bpf.MSH | Bpf.B, 0), op(Bpf.MISC | Bpf.TXA)], 20, data)).toBe(true);
  });

  it("reads the wire length, scratch memory and moves between A and X", () => {
    expect(
      runAll(
        [op(Bpf.LD | Bpf.W | Bpf.LEN), op(Bpf.JMP | Bpf.JGT | Bpf.K, 99, 0, 1), ret(1), ret(0)],
        [1],
        1,
        100,
      ),
    ).toBe(true);
    const mem = [ldImm(7), op(Bpf.ST, 3), ldImm(0), op(Bpf.LDX | Bpf.MEM, 3), op(Bpf.MISC | Bpf.TXA)];
    expect(resultA(mem, 7)).toBe(true);
    expect(resultA([op(Bpf.LD | Bpf.MEM, 15)], 0)).toBe(true);
    expect(resultA([ldImm(6), op(Bpf.MISC | Bpf.TAX), op(Bpf.STX, 0), op(Bpf.LD | Bpf.MEM, 0)], 6)).toBe(
      true,
    );
  });

  it("treats any non-zero return as accept, including ret A", () => {
    expect(runAll([ret(0xffff_ffff)], [])).toBe(true);
    expect(runAll([ldImm(0x8000_0000), retA], [])).toBe(true);
    expect(runAll([ldImm(0), retA], [])).toBe(false);
  });

  it("takes conditional jumps on unsigned comparisons and jset", () => {
    const jump = (code: number, a: number, k: number) =>
      runAll([ldImm(a), op(Bpf.JMP | code | Bpf.K, k, 1, 0), ret(0), ret(1)], []);
    expect(jump(Bpf.JGT, 0x8000_0000, 1)).toBe(true);
    expect(jump(Bpf.JGE, 5, 5)).toBe(true);
    expect(jump(Bpf.JGT, 5, 5)).toBe(false);
    expect(jump(Bpf.JSET, 0x8000_0000, 0x8000_0001)).toBe(true);
    expect(jump(Bpf.JSET, 2, 1)).toBe(false);
  });

  it("runs backward jumps (ip6 protochain) and stops runaway loops", () => {
    // X counts up to 10 through a backward ja.
    const loop = [
      ldxImm(0),
      op(Bpf.MISC | Bpf.TXA),
      aluK(Bpf.ADD, 1),
      op(Bpf.MISC | Bpf.TAX),
      op(Bpf.JMP | Bpf.JEQ | Bpf.K, 10, 1, 0),
      op(Bpf.JMP | Bpf.JA, -5),
      ret(1),
    ];
    expect(runAll(loop, [])).toBe(true);
    expect(filterSource(loop)).toContain("switch (pc)");
    const forever = [ldImm(0), op(Bpf.JMP | Bpf.JA, -2), ret(1)];
    expect(runAll(forever, [])).toBe(false);
    expect(MAX_BACKWARD_JUMPS).toBeGreaterThan(262_144 / 8);
  });
});

describe("jitFilter on very large programs", () => {
  it("falls back to the loop-switch when the nesting is too deep for V8's parser", () => {
    // A = wire length; `jeq #i` then `ja` to the i-th of m `add #(i+1)`, which all fall through
    // to a final test of the sum: only the path of i = 7 gives K.
    const m = 10_000;
    const program: BpfInsn[] = [op(Bpf.LD | Bpf.W | Bpf.LEN)];
    for (let i = 0; i < m; i++) {
      program.push(op(Bpf.JMP | Bpf.JEQ | Bpf.K, i, 0, 1), op(Bpf.JMP | Bpf.JA, 2 * m - i - 2));
    }
    for (let i = 0; i < m; i++) program.push(aluK(Bpf.ADD, i + 1));
    const k = 7 + (m * (m + 1)) / 2 - 28;
    program.push(op(Bpf.JMP | Bpf.JEQ | Bpf.K, k, 0, 1), ret(1), ret(0));
    const reference = interpretFilter(program);
    const empty = new Uint8Array(0);
    for (const strategy of ["blocks", "auto"] as const) {
      const filter = jitFilter(program, { strategy });
      for (const wirelen of [0, 6, 7, 8, 5000, m]) {
        expect(filter(empty, 0, 0, wirelen)).toBe(wirelen === 7);
        expect(reference(empty, 0, 0, wirelen)).toBe(wirelen === 7);
      }
    }
  });
});

describe("jitFilter validation", () => {
  const invalid: Array<[string, BpfProgram]> = [
    ["empty", []],
    ["no final return", [ldImm(1)]],
    ["unknown opcode", [op(0x07 | 0x30), ret(1)]],
    ["jump out of range", [op(Bpf.JMP | Bpf.JEQ | Bpf.K, 1, 1, 0), ret(1)]],
    ["ja out of range", [op(Bpf.JMP | Bpf.JA, 5), ret(1)]],
    ["ja to itself", [op(Bpf.JMP | Bpf.JA, -1), ret(1)]],
    ["ja before the start", [op(Bpf.JMP | Bpf.JA, -3), ret(1)]],
    ["scratch index", [op(Bpf.ST, 16), ret(1)]],
    ["division by constant zero", [aluK(Bpf.DIV, 0), ret(1)]],
    ["constant shift of 32", [aluK(Bpf.LSH, 32), ret(1)]],
    ["ancillary load", [op(Bpf.LD | Bpf.B | Bpf.ABS, 0xffff_f000 + 44), ret(1)]],
    ["link-layer negative load", [op(Bpf.LD | Bpf.H | Bpf.ABS, SKF_LL_OFF), ret(1)]],
    ["non-integer k", [{ code: Bpf.RET | Bpf.K, jt: 0, jf: 0, k: 1.5 }]],
  ];
  it.each(invalid)("rejects %s with FilterError", (_, program) => {
    expect(() => jitFilter(program)).toThrow(FilterError);
    expect(() => interpretFilter(program)).toThrow(FilterError);
  });

  it("names the ancillary load problem", () => {
    expect(() => jitFilter([op(Bpf.LD | Bpf.B | Bpf.ABS, 0xffff_f000), ret(1)])).toThrow(/ancillary/);
  });
});

/** Random valid programs: every jump forward and in range, scratch indices valid, a final ret. */
const programArb = (backward: boolean): fc.Arbitrary<BpfProgram> => {
  const codes = [
    Bpf.LD | Bpf.W | Bpf.ABS,
    Bpf.LD | Bpf.H | Bpf.ABS,
    Bpf.LD | Bpf.B | Bpf.ABS,
    Bpf.LD | Bpf.W | Bpf.IND,
    Bpf.LD | Bpf.H | Bpf.IND,
    Bpf.LD | Bpf.B | Bpf.IND,
    Bpf.LD | Bpf.W | Bpf.LEN,
    Bpf.LDX | Bpf.W | Bpf.LEN,
    Bpf.LDX | Bpf.MSH | Bpf.B,
    Bpf.LD | Bpf.IMM,
    Bpf.LDX | Bpf.IMM,
    Bpf.LD | Bpf.MEM,
    Bpf.LDX | Bpf.MEM,
    Bpf.ST,
    Bpf.STX,
    Bpf.MISC | Bpf.TAX,
    Bpf.MISC | Bpf.TXA,
    Bpf.ALU | Bpf.NEG,
    Bpf.JMP | Bpf.JA,
    Bpf.RET | Bpf.K,
    Bpf.RET | Bpf.A,
    ...[Bpf.JGT, Bpf.JGE, Bpf.JEQ, Bpf.JSET].flatMap((j) => [Bpf.JMP | j | Bpf.K, Bpf.JMP | j | Bpf.X]),
    ...[Bpf.ADD, Bpf.SUB, Bpf.MUL, Bpf.DIV, Bpf.MOD, Bpf.AND, Bpf.OR, Bpf.XOR, Bpf.LSH, Bpf.RSH].flatMap(
      (a) => [Bpf.ALU | a | Bpf.K, Bpf.ALU | a | Bpf.X],
    ),
  ];
  // Small offsets dominate so that loads overlap and bounds meet at the edges.
  const kArb = fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 8 }), weight: 4 },
    fc.integer({ min: 0, max: 72 }),
    fc.constantFrom(0, 1, 2, 31, 32, 33, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff),
    fc.nat({ max: 0xffff_ffff }),
  );
  const raw = fc.record({ code: fc.constantFrom(...codes), k: kArb, jt: fc.nat(255), jf: fc.nat(255) });
  return fc.array(raw, { minLength: 1, maxLength: 40 }).map((raws) =>
    raws.map((r, pc): BpfInsn => {
      const left = raws.length - 1 - pc;
      if (left === 0)
        return { code: r.code & 1 ? Bpf.RET | Bpf.A : Bpf.RET | Bpf.K, jt: 0, jf: 0, k: r.k % 3 };
      const { code } = r;
      let k = r.k;
      const cls = code & 0x07;
      const mode = code & 0xe0;
      if (cls === Bpf.ST || cls === Bpf.STX || ((cls === Bpf.LD || cls === Bpf.LDX) && mode === Bpf.MEM))
        k %= 16;
      if (cls === Bpf.LD && mode === Bpf.ABS && k >= SKF_LL_OFF) k %= 100;
      if (code === (Bpf.LDX | Bpf.MSH | Bpf.B)) k %= 80;
      if (cls === Bpf.ALU && (code & Bpf.X) === 0) {
        const alu = code & 0xf0;
        if ((alu === Bpf.DIV || alu === Bpf.MOD) && k === 0) k = 3;
        if (alu === Bpf.LSH || alu === Bpf.RSH) k %= 32;
      }
      if (code === (Bpf.JMP | Bpf.JA)) {
        const forward = k % left;
        // Sometimes jump back (never onto itself): loops end at MAX_BACKWARD_JUMPS or by data.
        k = backward && pc > 0 && r.jt % 4 === 0 ? -(1 + (k % pc)) - 1 : forward;
        return { code, jt: 0, jf: 0, k: k >>> 0 };
      }
      if (cls === Bpf.JMP) return { code, jt: r.jt % left, jf: r.jf % left, k };
      return { code, jt: 0, jf: 0, k };
    }),
  );
};

const packetArb = fc.record({
  data: fc.uint8Array({ maxLength: 90 }),
  offset: fc.nat(5),
  trim: fc.nat(8),
  wirelen: fc.oneof(fc.nat(2000), fc.nat({ max: 0xffff_ffff })),
});

describe("JIT equals the reference interpreter on random programs", () => {
  const check = (backward: boolean, runs: number) =>
    fc.assert(
      fc.property(
        programArb(backward),
        fc.array(packetArb, { minLength: 1, maxLength: 8 }),
        (program, packets) => {
          const blocks = jitFilter(program, { strategy: "blocks" });
          const loop = jitFilter(program, { strategy: "switch" });
          const agree = (buf: Uint8Array, offset: number, caplen: number, wirelen: number) => {
            const expected = runProgram(program, buf, offset, caplen, wirelen) !== 0;
            expect(blocks(buf, offset, caplen, wirelen)).toBe(expected);
            expect(loop(buf, offset, caplen, wirelen)).toBe(expected);
          };
          for (const { data, offset, trim, wirelen } of packets) {
            const buf = new Uint8Array(offset + data.length);
            buf.set(data, offset);
            agree(buf, offset, Math.max(0, data.length - trim), wirelen);
            // Hoisted bounds checks can only be wrong at the edges: try caplen just below and at
            // every constant load end, with bytes present past caplen.
            const full = new Uint8Array(offset + 128).fill(0xa5);
            full.set(data, offset);
            for (const insn of program) {
              const end = absLoadEnd(insn);
              if (end === undefined || end > 120) continue;
              agree(full, offset, end - 1, wirelen);
              agree(full, offset, end, wirelen);
            }
          }
        },
      ),
      { numRuns: runs },
    );

  it("forward-only programs", () => check(false, 3000));
  it("programs with backward jumps", () => check(true, 300));
});
