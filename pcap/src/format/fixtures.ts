/**
 * Test and benchmark captures built byte by byte, independently of the writers, in every variant
 * the readers support: classic pcap in its four magics, and pcapng (see `fixtures-pcapng.ts`).
 * Timestamps use BigInt here on purpose: these helpers are the slow, obviously-correct reference
 * the fast readers are checked against.
 */

import { ByteBuilder } from "./fixtures-pcapng.js";

export {
  ByteBuilder,
  type FixtureInterface,
  type FixtureNgPacket,
  type FixtureSection,
  pcapngFixture,
  pcapngTime,
  pcapngUnits,
  simpleCaplen,
  unitsPerSecond,
} from "./fixtures-pcapng.js";

/** A packet to put in a fixture. */
export interface FixturePacket {
  /** Captured bytes. */
  data: Buffer;
  /** Timestamp, seconds since the epoch. */
  tsSec: number;
  /** Timestamp, nanoseconds within the second. */
  tsNsec: number;
  /** Original length on the wire; default `data.length`. */
  origLen?: number;
}

/** The four classic magics: precision and byte order. */
export type ClassicVariant = "usec-le" | "usec-be" | "nsec-le" | "nsec-be";

/** Options of {@link classicFixture}. */
export interface ClassicFixtureOptions {
  /** Magic and byte order. Default "usec-le". */
  variant: ClassicVariant;
  /** Link type in the header. Default 1 (Ethernet). */
  linkType: number;
  /** Snapshot length in the header. Default 262144. */
  snaplen: number;
  /** Extra bits above the link type (FCS flag and length), to check readers mask them. Default 0. */
  linkTypeFlags: number;
}

/**
 * A classic pcap file holding `packets`. Microsecond variants store floor(tsNsec / 1000), so a
 * reader returns that times 1000.
 */
export function classicFixture(
  packets: readonly FixturePacket[],
  options: Partial<ClassicFixtureOptions> = {},
): Buffer {
  const variant = options.variant ?? "usec-le";
  const nano = variant.startsWith("nsec");
  const out = new ByteBuilder(variant.endsWith("le"));
  out.u32(nano ? 0xa1b23c4d : 0xa1b2c3d4);
  out.u16(2).u16(4).u32(0).u32(0);
  out.u32(options.snaplen ?? 262_144);
  out.u32((options.linkType ?? 1) | (options.linkTypeFlags ?? 0));
  for (const p of packets) {
    out.u32(p.tsSec).u32(nano ? p.tsNsec : Math.floor(p.tsNsec / 1000));
    out.u32(p.data.length).u32(p.origLen ?? p.data.length);
    out.bytes(p.data);
  }
  return out.toBuffer();
}

/** Options of {@link samplePackets}. */
export interface SampleOptions {
  /** Timestamp of the first packet, seconds. Default 1_700_000_000. */
  startSec: number;
  /** Nanoseconds between packets. Default 1_234_567. */
  stepNsec: number;
  /** Shortest packet. Default 14. */
  minLength: number;
  /** Longest packet. Default 1514. */
  maxLength: number;
  /** Seed of the deterministic byte generator. Default 1. */
  seed: number;
}

/**
 * Deterministic packets with arbitrary bytes and lengths, ascending timestamps and non-round
 * nanoseconds (so precision loss shows). The same arguments always give the same packets.
 */
export function samplePackets(count: number, options: Partial<SampleOptions> = {}): FixturePacket[] {
  const minLength = options.minLength ?? 14;
  const span = (options.maxLength ?? 1514) - minLength + 1;
  const step = BigInt(options.stepNsec ?? 1_234_567);
  let state = (options.seed ?? 1) >>> 0 || 1;
  const random = (): number => {
    // xorshift32: enough to vary bytes and lengths reproducibly.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  let ns = BigInt(options.startSec ?? 1_700_000_000) * 1_000_000_000n + 123_456_789n;
  const packets: FixturePacket[] = [];
  for (let i = 0; i < count; i++) {
    const data = Buffer.alloc(minLength + (random() % span));
    for (let j = 0; j < data.length; j++) data[j] = random() & 0xff;
    packets.push({ data, tsSec: Number(ns / 1_000_000_000n), tsNsec: Number(ns % 1_000_000_000n) });
    ns += step + BigInt(random() % 1000);
  }
  return packets;
}
