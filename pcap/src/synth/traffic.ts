/**
 * The seeded traffic generator: a fixed number of concurrent flows, each step one packet of
 * a randomly chosen flow, finished flows replaced by new ones from the application mix, and
 * timestamps advancing at the requested rate. Same options, same packets, byte for byte.
 */
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { LinkType } from "../types.js";
import { TcpApp, tcpFlowSpec } from "./apps.js";
import type { Flow, FlowContext } from "./flow-context.js";
import { createNetwork, type Network } from "./network.js";
import { PayloadPool } from "./payload-pool.js";
import { Prng } from "./prng.js";
import { dnsFlow, fragmentFlow, neighborFlow, pingFlow } from "./small-flows.js";
import { TcpFlow } from "./tcp-flow.js";

/** A timestamp as seconds since the epoch plus nanoseconds. */
export interface Timestamp {
  sec: number;
  nsec: number;
}

/** Everything that shapes generated traffic; see {@link DEFAULT_TRAFFIC_OPTIONS}. */
export interface TrafficOptions {
  /** Seed of the PRNG: the same seed gives the same packets. */
  seed: number;
  /** Timestamp of the first packet. */
  start: Timestamp;
  /** Stop once this many seconds of traffic are generated (Infinity: no limit). */
  durationS: number;
  /** Stop after this many packets (Infinity: no limit). */
  packets: number;
  /** Mean packets per second; inter-arrival times vary ±50% around 1/rate. */
  ratePps: number;
  /** Client hosts in the simulated network. */
  hosts: number;
  /** Internal subnets (each an IPv4 /24 and an IPv6 /64). */
  subnets: number;
  /** Share of Ethernet flows that are VLAN tagged (a fifth of those QinQ). */
  vlanShare: number;
  /** Share of flows over IPv6 (forced to 0 or 1 by the IPV4 and IPV6 link types). */
  ipv6Share: number;
  /** LINKTYPE_* of the packets. */
  linkType: number;
  /** Bytes kept of each packet; `origLen` keeps the full length. */
  snaplen: number;
  /** Flows in progress at any time. */
  concurrency: number;
}

/** Defaults merged under the caller's options. */
export const DEFAULT_TRAFFIC_OPTIONS: Readonly<TrafficOptions> = Object.freeze({
  seed: 1,
  start: Object.freeze({ sec: 1_700_000_000, nsec: 0 }),
  durationS: Number.POSITIVE_INFINITY,
  packets: Number.POSITIVE_INFINITY,
  ratePps: 1000,
  hosts: 40,
  subnets: 4,
  vlanShare: 0.1,
  ipv6Share: 0.2,
  linkType: LinkType.ETHERNET,
  snaplen: 262_144,
  concurrency: 16,
});

/** One generated packet. The generator never reuses `data`: the caller may keep it. */
export interface GeneratedPacket {
  tsSec: number;
  tsNsec: number;
  data: Buffer;
  origLen: number;
}

const SUPPORTED_LINKS: readonly number[] = Object.values(LinkType);

/** Merges defaults and validates; throws an InvalidArgument AppError naming the bad option. */
export function resolveTrafficOptions(input: Partial<TrafficOptions>): TrafficOptions {
  const o: TrafficOptions = { ...DEFAULT_TRAFFIC_OPTIONS, ...input };
  const fail = (key: string, why: string): never => {
    throw new AppError(ErrorCode.InvalidArgument, `traffic option ${key}: ${why}`, { details: { key } });
  };
  if (!Number.isInteger(o.seed)) fail("seed", "must be an integer");
  if (
    !Number.isInteger(o.start.sec) ||
    !Number.isInteger(o.start.nsec) ||
    o.start.nsec < 0 ||
    o.start.nsec > 999_999_999
  ) {
    fail("start", "needs integer sec and nsec in 0..999999999");
  }
  if (!(o.ratePps > 0) || !Number.isFinite(o.ratePps)) fail("ratePps", "must be a positive number");
  if (!(o.durationS >= 0)) fail("durationS", "must be >= 0");
  if (!(o.packets >= 0)) fail("packets", "must be >= 0");
  if (!(o.vlanShare >= 0 && o.vlanShare <= 1)) fail("vlanShare", "must be in [0, 1]");
  if (!(o.ipv6Share >= 0 && o.ipv6Share <= 1)) fail("ipv6Share", "must be in [0, 1]");
  if (!SUPPORTED_LINKS.includes(o.linkType)) fail("linkType", `must be one of ${SUPPORTED_LINKS.join(", ")}`);
  if (!(o.snaplen >= 1)) fail("snaplen", "must be >= 1");
  if (!(o.hosts >= 1)) fail("hosts", "must be >= 1");
  if (!(o.subnets >= 1 && o.subnets <= 200)) fail("subnets", "must be in 1..200");
  if (!(o.concurrency >= 1)) fail("concurrency", "must be >= 1");
  return o;
}

/** Cumulative weights of new flows: [weight, kind]. TCP flows are long, so they carry most packets. */
const MIX: ReadonlyArray<readonly [number, number]> = [
  [0.22, TcpApp.HTTPS],
  [0.07, TcpApp.HTTP],
  [0.03, TcpApp.SSH],
  [0.03, TcpApp.MYSQL],
  [0.45, 53],
  [0.1, 1],
  [0.06, 2],
  [0.04, 3],
];

/** Produces packets one at a time; {@link generateTraffic} wraps it as an iterator. */
export class TrafficGenerator {
  /** The simulated network (subnets, hosts, servers) the traffic runs over. */
  readonly network: Network;
  private readonly o: TrafficOptions;
  private readonly ctx: FlowContext;
  private readonly flows: Flow[] = [];
  private readonly meanGapNs: number;
  private readonly endSec: number;
  private readonly endNsec: number;
  private sec: number;
  private nsec: number;
  private count = 0;

  constructor(input: Partial<TrafficOptions> = {}) {
    const o = resolveTrafficOptions(input);
    this.o = o;
    const rng = new Prng(o.seed);
    this.network = createNetwork({ seed: o.seed, hosts: o.hosts, subnets: o.subnets });
    const ipv6Share = o.linkType === LinkType.IPV4 ? 0 : o.linkType === LinkType.IPV6 ? 1 : o.ipv6Share;
    this.ctx = {
      rng,
      pool: new PayloadPool(rng),
      net: this.network,
      linkType: o.linkType,
      vlanShare: o.vlanShare,
      ipv6Share,
    };
    this.meanGapNs = 1e9 / o.ratePps;
    this.sec = o.start.sec;
    this.nsec = o.start.nsec;
    const durNs = Number.isFinite(o.durationS) ? Math.round(o.durationS * 1e9) : Number.POSITIVE_INFINITY;
    const endTotal = o.start.nsec + durNs;
    this.endSec = Number.isFinite(durNs)
      ? o.start.sec + Math.floor(endTotal / 1e9)
      : Number.POSITIVE_INFINITY;
    this.endNsec = Number.isFinite(durNs) ? endTotal % 1e9 : 0;
    for (let i = 0; i < o.concurrency; i++) this.flows.push(this.newFlow());
  }

  /** The next packet, or undefined when the packet count or the duration is reached. */
  next(): GeneratedPacket | undefined {
    const o = this.o;
    if (this.count >= o.packets) return undefined;
    const sec = this.sec;
    const nsec = this.nsec;
    if (sec > this.endSec || (sec === this.endSec && nsec >= this.endNsec)) return undefined;
    const rng = this.ctx.rng;
    let data: Buffer | null = null;
    while (data === null) {
      const slot = rng.int(this.flows.length);
      data = (this.flows[slot] as Flow).next();
      if (data === null) this.flows[slot] = this.newFlow();
    }
    this.count++;
    let next = nsec + Math.round(this.meanGapNs * (0.5 + rng.float()));
    let nextSec = sec;
    if (next >= 1e9) {
      nextSec += Math.floor(next / 1e9);
      next %= 1e9;
    }
    this.sec = nextSec;
    this.nsec = next;
    const origLen = data.length;
    return {
      tsSec: sec,
      tsNsec: nsec,
      data: origLen > o.snaplen ? data.subarray(0, o.snaplen) : data,
      origLen,
    };
  }

  private newFlow(): Flow {
    const ctx = this.ctx;
    let r = ctx.rng.float();
    let kind = 53;
    for (const [weight, k] of MIX) {
      kind = k;
      if (r < weight) break;
      r -= weight;
    }
    switch (kind) {
      case 53:
        return dnsFlow(ctx);
      case 1:
        return pingFlow(ctx);
      case 2:
        return neighborFlow(ctx);
      case 3:
        return fragmentFlow(ctx);
      default:
        return new TcpFlow(ctx, tcpFlowSpec(ctx, kind));
    }
  }
}

/**
 * Generates realistic mixed traffic, lazily: iterate, and stop when you have enough (or set
 * `packets` / `durationS`). Options not given take {@link DEFAULT_TRAFFIC_OPTIONS}.
 */
export function* generateTraffic(
  options: Partial<TrafficOptions> = {},
): Generator<GeneratedPacket, void, undefined> {
  const gen = new TrafficGenerator(options);
  for (let p = gen.next(); p !== undefined; p = gen.next()) yield p;
}
