/**
 * A job's analysis, computed in the merge's packet loop: `mergeCaptures({ onPacket: (rec) =>
 * analyser.observe(rec) })`, then `analyser.result()`. Each packet is decoded once into a
 * reused object and counted into bounded tables keyed by typed-array words, so a packet whose
 * keys exist already allocates nothing here (the decoder allocates only the DNS, SNI and Host
 * strings it finds). Memory is fixed by `maxKeys`: about 180 bytes per conversation, 90 per
 * talker, 60 per path or port, and up to ~400 per name (255 characters at most); so at the
 * default 100 000 keys some 40 MB for the address tables, plus ~15 MB per name table of typical
 * names (up to ~40 MB each with the longest).
 */
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { createDecodedPacket, type DecodedPacket, decodePacket, type PacketRecord } from "@pcapfleet/pcap";
import type { JobAnalysis } from "./analysis-json.js";
import { IpCounter } from "./ip-counter.js";
import { isoTime, keyName, MAX_DATE_MS } from "./names.js";
import {
  conversationRows,
  distinctCounts,
  dnsRows,
  hierarchyRows,
  hostRows,
  portRows,
  sniRows,
  talkerRows,
  truncatedTables,
} from "./rows.js";
import { type AnalysisTables, createTables, NameCol, PathCol } from "./tables.js";
import { Timeline } from "./timeline.js";

/** Options of {@link createAnalyser}. */
export interface AnalysisOptions {
  /** Start of the job's window, ms since the epoch (inclusive). */
  windowStartMs: number;
  /** End of the job's window, ms since the epoch (exclusive); after the start. */
  windowEndMs: number;
  /** Rows per top-N table. Default 20, at most 100 000. */
  topN?: number;
  /** Keys each table holds at most (see `truncated_tables`). Default 100 000, at most 1 000 000. */
  maxKeys?: number;
}

/** Counts packets one at a time and reports the {@link JobAnalysis}. */
export interface Analyser {
  /** Counts one packet. The record is read, not kept, so a reader's reused cursor is fine. */
  observe(rec: PacketRecord): void;
  /** The analysis of the packets observed so far; may be called more than once. */
  result(): JobAnalysis;
}

/** Default rows per top-N table. */
export const DEFAULT_TOP_N = 20;
/** Default keys per table. */
export const DEFAULT_MAX_KEYS = 100_000;
const MAX_TOP_N = 100_000;
const MAX_MAX_KEYS = 1_000_000;

/**
 * An analyser for a job over [windowStartMs, windowEndMs). Throws an `invalid_argument`
 * AppError naming the option for a non-finite or reversed window, or an out-of-range count.
 */
export function createAnalyser(options: AnalysisOptions): Analyser {
  const { windowStartMs: start, windowEndMs: end } = options;
  const topN = options.topN ?? DEFAULT_TOP_N;
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  const fail = (key: string, why: string): never => {
    throw new AppError(ErrorCode.InvalidArgument, `analysis option ${key}: ${why}`, { details: { key } });
  };
  if (!Number.isFinite(start) || Math.abs(start) > MAX_DATE_MS) fail("windowStartMs", "must be a valid time");
  if (!Number.isFinite(end) || Math.abs(end) > MAX_DATE_MS) fail("windowEndMs", "must be a valid time");
  if (!(end > start)) fail("windowEndMs", "must be after windowStartMs");
  if (!Number.isInteger(topN) || topN < 1 || topN > MAX_TOP_N)
    fail("topN", `must be an integer in 1..${MAX_TOP_N}`);
  if (!Number.isInteger(maxKeys) || maxKeys < 1 || maxKeys > MAX_MAX_KEYS) {
    fail("maxKeys", `must be an integer in 1..${MAX_MAX_KEYS}`);
  }
  return new PacketAnalyser(start, end, topN, maxKeys);
}

const TWO_32 = 4_294_967_296;
const PATH_CACHE_MASK = 63;

class PacketAnalyser implements Analyser {
  private readonly d: DecodedPacket = createDecodedPacket();
  private readonly t: AnalysisTables;
  private readonly timeline: Timeline;
  private readonly topN: number;
  private packets = 0;
  private bytes = 0;
  private firstMs = Number.POSITIVE_INFINITY;
  private lastMs = Number.NEGATIVE_INFINITY;
  private decodeErrors = 0;
  private readonly ip: IpCounter;
  /** Direct-mapped cache of path slots (see pathSlot): keys (-1 when empty) and slots. */
  private readonly pathCacheKey = new Float64Array(PATH_CACHE_MASK + 1).fill(-1);
  private readonly pathCacheSlot = new Int32Array(PATH_CACHE_MASK + 1);
  private pathEpoch = 0;

  constructor(startMs: number, endMs: number, topN: number, maxKeys: number) {
    this.t = createTables(maxKeys);
    this.ip = new IpCounter(this.t);
    this.timeline = new Timeline(startMs, endMs);
    this.topN = topN;
    // Bound, so `onPacket: analyser.observe` works as well as an arrow function.
    this.observe = this.observe.bind(this);
  }

  observe(rec: PacketRecord): void {
    const d = decodePacket(rec, this.d);
    const len = rec.origLen;
    // Whole milliseconds, exact: a fraction added to 1.7e12 would round away sub-µs digits and
    // could move a packet stamped x.9999999 s into the next second's bucket.
    const ms = rec.tsSec * 1000 + Math.floor(rec.tsNsec / 1_000_000);
    this.packets++;
    this.bytes += len;
    if (ms < this.firstMs) this.firstMs = ms;
    if (ms > this.lastMs) this.lastMs = ms;
    this.timeline.add(ms, len);
    if (d.malformed) this.decodeErrors++;

    const p = this.pathSlot(d.pathKey);
    const paths = this.t.paths;
    paths.add(p, PathCol.PACKETS, 1);
    paths.add(p, PathCol.BYTES, len);
    paths.bump(p, 1);

    if ((d.l3 === "ipv4" || d.l3 === "ipv6") && d.srcOffset >= 0) this.ip.count(d, len, ms);
    if (d.dnsName !== null && !d.dnsResponse) this.countName(this.t.dns, d.dnsName, d.dnsType);
    if (d.tlsSni !== null) this.countName(this.t.sni, d.tlsSni, 0);
    if (d.httpHost !== null) this.countName(this.t.hosts, d.httpHost, 0);
  }

  /**
   * The path table slot of `pathKey`. A network has a few dozen paths, so a small direct-mapped
   * cache in front of the table saves the hash lookup for nearly every packet; it is emptied
   * whenever the table evicts, since a cached slot may then hold another path.
   */
  private pathSlot(pathKey: number): number {
    const paths = this.t.paths;
    if (this.pathEpoch !== paths.evicted) {
      this.pathEpoch = paths.evicted;
      this.pathCacheKey.fill(-1);
    }
    const lo = pathKey >>> 0;
    const i = (lo ^ (lo >>> 9) ^ (lo >>> 18)) & PATH_CACHE_MASK;
    if (this.pathCacheKey[i] === pathKey) return this.pathCacheSlot[i] as number;
    paths.key[0] = Math.floor(pathKey / TWO_32);
    paths.key[1] = lo;
    const slot = paths.find();
    // A lookup that evicted leaves the cache to be emptied on the next packet.
    this.pathCacheKey[i] = pathKey;
    this.pathCacheSlot[i] = slot;
    return slot;
  }

  private countName(table: AnalysisTables["dns"], name: string, sub: number): void {
    const slot = table.find(keyName(name), sub);
    table.add(slot, NameCol.COUNT, 1);
    table.bump(slot, 1);
  }

  result(): JobAnalysis {
    const t = this.t;
    const n = this.topN;
    const time = (ms: number): string | null => (this.packets === 0 ? null : isoTime(ms));
    return {
      version: 1,
      packets: this.packets,
      bytes: this.bytes,
      first_packet_at: time(this.firstMs),
      last_packet_at: time(this.lastMs),
      decode_errors: this.decodeErrors,
      protocol_hierarchy: hierarchyRows(t.paths),
      top_talkers: talkerRows(t.talkers, n),
      conversations: conversationRows(t.conversations, n),
      top_ports: portRows(t.ports, n),
      dns_queries: dnsRows(t.dns, n),
      tls_sni: sniRows(t.sni, n),
      http_hosts: hostRows(t.hosts, n),
      timeline: this.timeline.toJSON(),
      distinct: distinctCounts(t),
      truncated_tables: truncatedTables(t),
    };
  }
}
