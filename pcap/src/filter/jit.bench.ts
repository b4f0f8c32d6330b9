/**
 * Filter speed: `npx vitest bench --run pcap/src/filter`. Each iteration filters PACKETS
 * packets laid out in one buffer like a reader's chunk; ns/packet = mean / PACKETS.
 * Compares the labelled-block JIT (the default), the loop-switch JIT and the reference
 * interpreter, on programs compiled by the real tcpdump.
 */
import { bench, describe } from "vitest";
import { LinkType } from "../types.js";
import type { BpfProgram } from "./bpf.js";
import { createFilterCompiler } from "./compile.js";
import { interpretFilter } from "./interpreter.js";
import { type FilterPredicate, jitFilter } from "./jit.js";
import { arp, bytes, ether, ipv4, ipv6, Tcp, tcp, udp, vlanTag } from "./packets.test-support.js";

const PACKETS = 1 << 18;
const SLOT = 128;

/** Deterministic pseudo-random numbers (mulberry32), so runs compare. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A traffic mix: mostly IPv4 TCP/UDP, some VLAN, IPv6 and ARP; a few hit each filter. */
function traffic(): { buf: Buffer; caplens: Int32Array; wirelens: Int32Array } {
  const next = random(42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const host = () => pick(["10.0.0.1", "10.0.0.2", "192.168.1.20", "172.16.0.9", "93.184.216.34", "8.8.8.8"]);
  const port = () => pick([443, 443, 80, 53, 22, 8080, 51000, 33000]);
  const flags = () =>
    pick([Tcp.ACK, Tcp.ACK, Tcp.ACK | Tcp.PSH, Tcp.SYN, Tcp.SYN | Tcp.ACK, Tcp.FIN | Tcp.ACK]);
  const l4 = (): [number, Uint8Array] =>
    next() < 0.7 ? [6, tcp(port(), port(), flags())] : [17, udp(port(), port(), [1, 2, 3, 4])];
  const makers: Array<() => Uint8Array> = [
    () => {
      const [proto, seg] = l4();
      return ether(
        "00:00:00:00:00:02",
        "00:00:00:00:00:01",
        0x0800,
        ipv4({ proto, src: host(), dst: host() }, seg),
      );
    },
    () => {
      const [proto, seg] = l4();
      const ip = ipv4({ proto, src: host(), dst: host() }, seg);
      return ether(
        "00:00:00:00:00:02",
        "00:00:00:00:00:01",
        0x8100,
        bytes(vlanTag(pick([100, 200]), 0x0800), ip),
      );
    },
    () => {
      const [proto, seg] = l4();
      return ether(
        "00:00:00:00:00:02",
        "00:00:00:00:00:01",
        0x86dd,
        ipv6(proto, "2001:db8::1", "2001:db8::2", seg),
      );
    },
    () =>
      ether(
        "ff:ff:ff:ff:ff:ff",
        "00:00:00:00:00:01",
        0x0806,
        arp(1, "00:00:00:00:00:01", "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2"),
      ),
  ];
  const weights = [0, 0, 0, 0, 0, 0, 0, 1, 2, 3];
  const buf = Buffer.alloc(PACKETS * SLOT);
  const caplens = new Int32Array(PACKETS);
  const wirelens = new Int32Array(PACKETS);
  for (let i = 0; i < PACKETS; i++) {
    const frame = (makers[pick(weights)] ?? makers[0] ?? (() => new Uint8Array()))();
    buf.set(frame, i * SLOT);
    caplens[i] = frame.length;
    wirelens[i] = frame.length + Math.floor(next() * 1400);
  }
  return { buf, caplens, wirelens };
}

const { buf, caplens, wirelens } = traffic();
let sink = 0;

/**
 * A loop of its own per predicate: one shared loop would make the call site megamorphic and
 * measure V8's call dispatch rather than the filter.
 */
function loopOver(predicate: FilterPredicate, packets: number, rounds: number): () => void {
  const loop = new Function(
    "f",
    "buf",
    "caplens",
    "wirelens",
    `let m = 0;
    for (let r = 0; r < ${rounds}; r++) for (let i = 0; i < ${packets}; i++) if (f(buf, i * ${SLOT}, caplens[i], wirelens[i])) m++;
    return m;`,
  ) as (f: FilterPredicate, b: Buffer, c: Int32Array, w: Int32Array) => number;
  return () => {
    sink ^= loop(predicate, buf, caplens, wirelens);
  };
}

const compiler = createFilterCompiler();
const expressions = ["host 10.0.0.1 and tcp", "tcp port 443", "vlan and udp", "tcp[tcpflags] & tcp-syn != 0"];
const programs = new Map<string, BpfProgram>();
for (const expression of expressions) {
  programs.set(expression, compiler.compileSync(expression, LinkType.ETHERNET));
}
compiler.close();

// Streaming: 32 MB of packets, like a ring read from memory. In cache: the first 4096 packets
// (512 KB) 64 times, which isolates the filter's own cost.
const shapes = [
  { name: `streaming ${PACKETS} packets`, packets: PACKETS, rounds: 1 },
  { name: "in cache 4096 packets x 64", packets: 4096, rounds: 64 },
];
for (const [expression, program] of programs) {
  for (const shape of shapes) {
    describe(`${expression}: ${shape.name} per iteration`, () => {
      const engines: Array<[string, FilterPredicate]> = [
        ["jit: labelled blocks", jitFilter(program, { strategy: "blocks" })],
        ["jit: for(;;) switch(pc)", jitFilter(program, { strategy: "switch" })],
        ["reference interpreter", interpretFilter(program)],
      ];
      for (const [name, predicate] of engines) {
        bench(name, loopOver(predicate, shape.packets, shape.rounds), { time: 1000 });
      }
    });
  }
}

export { sink };
