/**
 * Test stores for the slice suites, generated with the engine's traffic synthesiser and written
 * with the format fixtures (not the engine's writers), so the captures cover what rings in the
 * wild hold: all four classic pcap magics, pcapng in both byte orders, a snaplen-cut ring,
 * IPv4/IPv6, VLAN and QinQ, fragments, ICMP/ICMPv6, rings overlapping in time, and a second
 * capture of the same packets (equal timestamps across files: the merge's tie order).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type ClassicVariant,
  classicFixture,
  type FixturePacket,
  generateTraffic,
  LinkType,
  pcapngFixture,
  TrafficGenerator,
  type TrafficOptions,
} from "@pcapfleet/pcap";

/** First timestamp of the generated traffic. */
export const START = 1_700_000_000;

/** How one ring file is written. */
export type FileVariant = ClassicVariant | "pcapng-le" | "pcapng-be";

/** The variants of the main ring's files, in turn. */
export const VARIANTS: readonly FileVariant[] = [
  "usec-le",
  "usec-be",
  "nsec-le",
  "nsec-be",
  "pcapng-le",
  "pcapng-be",
];

/** Generates `count` packets. */
export function traffic(options: Partial<TrafficOptions>): FixturePacket[] {
  return [...generateTraffic(options)].map((p) => ({
    data: p.data,
    tsSec: p.tsSec,
    tsNsec: p.tsNsec,
    origLen: p.origLen,
  }));
}

/** The bytes of one ring file. */
export function fileBytes(
  packets: readonly FixturePacket[],
  variant: FileVariant,
  linkType: number = LinkType.ETHERNET,
  snaplen = 262_144,
): Buffer {
  if (variant === "pcapng-le" || variant === "pcapng-be") {
    return pcapngFixture([
      {
        littleEndian: variant === "pcapng-le",
        interfaces: [{ linkType, tsresol: 9, snaplen: snaplen === 262_144 ? 0 : snaplen }],
        packets: [...packets],
      },
    ]);
  }
  return classicFixture(packets, { variant, linkType, snaplen });
}

/** Writes `packets` as `files` ring files named `prefix-N.pcap` in `dir`, cycling through `variants`. */
export async function writeRing(
  dir: string,
  prefix: string,
  packets: readonly FixturePacket[],
  files: number,
  variants: readonly FileVariant[],
  linkType: number = LinkType.ETHERNET,
  snaplen = 262_144,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const per = Math.ceil(packets.length / files);
  const paths: string[] = [];
  for (let i = 0; i < files; i++) {
    const path = join(dir, `${prefix}-${i}.pcap`);
    const variant = variants[i % variants.length] as FileVariant;
    await writeFile(path, fileBytes(packets.slice(i * per, (i + 1) * per), variant, linkType, snaplen));
    paths.push(path);
  }
  return paths;
}

/** Options of the main ring, shared by the tests that pick addresses from its network. */
export const MAIN_OPTIONS: Partial<TrafficOptions> = {
  seed: 11,
  packets: 5400,
  ratePps: 500,
  vlanShare: 0.3,
  ipv6Share: 0.35,
  start: { sec: START, nsec: 0 },
};

/** The simulated network of the main ring (addresses, MACs, VLANs for filter expressions). */
export function mainNetwork(): TrafficGenerator["network"] {
  return new TrafficGenerator(MAIN_OPTIONS).network;
}

/**
 * The main store: `ringA/` (6 files, every variant), `ringB/` (3 files, snaplen 96, overlapping
 * ringA in time, another seed) and `dup/` (ringA's third file captured again with another source
 * MAC: the same timestamps in two files). Ethernet throughout.
 */
export async function buildMainStore(dir: string): Promise<void> {
  const a = traffic(MAIN_OPTIONS);
  await writeRing(join(dir, "ringA"), "ring", a, 6, VARIANTS);
  const b = traffic({
    seed: 12,
    packets: 2100,
    ratePps: 400,
    vlanShare: 0.2,
    ipv6Share: 0.5,
    snaplen: 96,
    start: { sec: START + 2, nsec: 500_000_001 },
  });
  await writeRing(join(dir, "ringB"), "b", b, 3, ["nsec-le"], LinkType.ETHERNET, 96);
  const third = a.slice(1800, 2700).map((p) => {
    const data = Buffer.from(p.data);
    data[11] = (data[11] ?? 0) ^ 0xff;
    return { ...p, data };
  });
  await writeRing(join(dir, "dup"), "copy", third, 1, ["nsec-le"]);
}

/** A LINKTYPE_RAW store (IP packets without a link header): 3 files, µs little-endian. */
export async function buildRawStore(dir: string): Promise<void> {
  const packets = traffic({
    seed: 21,
    packets: 2400,
    ratePps: 300,
    ipv6Share: 0.4,
    linkType: LinkType.RAW,
    start: { sec: START, nsec: 250_000_000 },
  });
  await writeRing(dir, "raw", packets, 3, ["usec-le", "nsec-be", "pcapng-le"], LinkType.RAW);
}
