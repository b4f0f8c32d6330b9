/**
 * Test helpers of the store tests: rings written with the engine's pcap writer from generated
 * traffic, polling with deadlines, a logger whose lines the test can read, and tshark as the
 * independent reference for subnet summaries.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { createLogger, type Logger } from "@pcapfleet/core";
import {
  createPcapWriter,
  type GeneratedPacket,
  generateTraffic,
  openCapture,
  type PcapWriter,
  type TrafficOptions,
} from "@pcapfleet/pcap";
import { afterEach, beforeEach } from "vitest";
import { formatIpv6 } from "./prefix-table.js";
import { createStoreCatalogue } from "./store-catalogue.js";
import type { SubnetSummarizer } from "./subnet-summary.js";
import type { StoreCatalogue, StoreCatalogueOptions } from "./types.js";

/** The directories of the running store test and the catalogues it opened; see {@link storeTestBed}. */
export interface StoreTestBed {
  /** The test's temporary directory, removed after it. */
  readonly root: string;
  /** `root/ring`, created empty: the store. */
  readonly store: string;
  /** `root/state`, not created: the catalogue's state directory. */
  readonly state: string;
  /**
   * A catalogue of `[store]` with state in `state` and a collecting logger (quiet 150 ms, rescan
   * every 500 ms), closed after the test; `options` override any of these.
   */
  open(options?: Partial<StoreCatalogueOptions>): { c: StoreCatalogue; lines: Record<string, unknown>[] };
}

/**
 * Registers, in the calling test file, the per-test set-up of the catalogue tests: a fresh
 * temporary root (named from `prefix`) with an empty store, removed with the catalogues the
 * test opened once it ends.
 */
export function storeTestBed(prefix: string): StoreTestBed {
  let root = "";
  const opened: StoreCatalogue[] = [];
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), prefix));
    mkdirSync(join(root, "ring"));
  });
  afterEach(async () => {
    for (const c of opened.splice(0)) await c.close();
    rmSync(root, { recursive: true, force: true });
  });
  return {
    get root() {
      return root;
    },
    get store() {
      return join(root, "ring");
    },
    get state() {
      return join(root, "state");
    },
    open(options = {}) {
      const { log, lines } = collectingLogger();
      const c = createStoreCatalogue({
        dirs: [join(root, "ring")],
        stateDir: join(root, "state"),
        log,
        quietMs: 150,
        rescanMs: 500,
        ...options,
      });
      opened.push(c);
      return { c, lines };
    },
  };
}

/** Marks a file as written an hour ago, so the catalogue takes it as closed at once. */
export function age(path: string): void {
  const past = new Date(Date.now() - 3_600_000);
  utimesSync(path, past, past);
}

/** Generated packets, kept (the generator never reuses their buffers). */
export function packets(options: Partial<TrafficOptions>): GeneratedPacket[] {
  return [...generateTraffic(options)];
}

/** Writes `list` as a classic pcap at `path` (nanosecond timestamps, so tshark sees exact times). */
export async function writeCapture(
  path: string,
  linkType: number,
  list: readonly GeneratedPacket[],
): Promise<void> {
  const writer = await createPcapWriter(path, { linkType, nanosecond: true });
  await appendPackets(writer, list);
  await writer.close();
}

/** Appends packets and flushes them to the file (a ring writer mid-file). */
export async function appendPackets(writer: PcapWriter, list: readonly GeneratedPacket[]): Promise<void> {
  for (const p of list) {
    if (!writer.writePacket(p.data, 0, p.data.length, p.origLen, p.tsSec, p.tsNsec)) await writer.drain();
  }
  await writer.flush();
}

/** Feeds every record of the capture at `path` to `summarizer`, as one indexing pass would. */
export async function feed(path: string, summarizer: SubnetSummarizer): Promise<void> {
  const reader = await openCapture(path);
  try {
    for (let rec = await reader.next(); rec !== null; rec = await reader.next()) summarizer.add(rec);
  } finally {
    await reader.close();
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes (then throws `what`). */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A logger at debug level whose JSON lines are collected in `lines`. */
export function collectingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") lines.push(JSON.parse(line));
      callback();
    },
  });
  return { log: createLogger({ name: "store-test", level: "debug", destination }), lines };
}

/** Summary rows keyed "minuteSec direction prefix" → [bytes, packets]. */
export type SummaryTotals = Map<string, [number, number]>;

/** A summary row as the tests handle it (the catalogue's rows, or rows built from tshark's). */
export interface TestRow {
  minuteStartNs: bigint;
  prefix: string;
  direction: string;
  bytes: number;
  packets: number;
}

/** The key of a row in {@link SummaryTotals}. */
export function rowKey(row: TestRow): string {
  return `${row.minuteStartNs / 1_000_000_000n} ${row.direction} ${row.prefix}`;
}

/**
 * Applies rows as the collector stores them: each row is its key's total and replaces an
 * earlier row of the same key.
 */
export function replaceRows(totals: SummaryTotals, rows: readonly TestRow[]): SummaryTotals {
  for (const row of rows) totals.set(rowKey(row), [row.bytes, row.packets]);
  return totals;
}

/** Adds rows to totals (counting packets one at a time, or summing disjoint sets of rows). */
export function addRows(totals: SummaryTotals, rows: readonly TestRow[]): SummaryTotals {
  for (const row of rows) {
    const key = rowKey(row);
    const t = totals.get(key) ?? [0, 0];
    totals.set(key, [t[0] + row.bytes, t[1] + row.packets]);
  }
  return totals;
}

/**
 * The summaries of `files` as tshark sees them: outer IP layer (the first of ip/ipv6 in the
 * protocol stack), frame length, /24 and /64 prefixes (test-side arithmetic).
 */
export async function tsharkTotals(files: readonly string[]): Promise<SummaryTotals> {
  const totals: SummaryTotals = new Map();
  const fields = [
    "frame.time_epoch",
    "frame.len",
    "frame.protocols",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
  ];
  for (const file of files) {
    const { stdout } = await promisify(execFile)(
      "tshark",
      ["-n", "-r", file, "-T", "fields", "-E", "occurrence=f", ...fields.flatMap((f) => ["-e", f])],
      { maxBuffer: 256 * 1024 * 1024 },
    );
    for (const line of stdout.split("\n")) {
      if (line === "") continue;
      const [epoch, len, protocols, ip4src, ip4dst, ip6src, ip6dst] = line.split("\t") as string[];
      const layers = (protocols as string).split(":");
      const v4 = layers.indexOf("ip");
      const v6 = layers.indexOf("ipv6");
      if (v4 < 0 && v6 < 0) continue;
      const useV4 = v4 >= 0 && (v6 < 0 || v4 < v6);
      const minute = Math.floor(Number((epoch as string).split(".")[0]) / 60) * 60;
      const pairs: [string, string][] = useV4
        ? [
            ["src", prefix4(ip4src as string)],
            ["dst", prefix4(ip4dst as string)],
          ]
        : [
            ["src", prefix6(ip6src as string)],
            ["dst", prefix6(ip6dst as string)],
          ];
      addRows(
        totals,
        pairs.map(([direction, prefix]) => ({
          minuteStartNs: BigInt(minute) * 1_000_000_000n,
          prefix,
          direction,
          bytes: Number(len),
          packets: 1,
        })),
      );
    }
  }
  return totals;
}

function prefix4(address: string): string {
  const parts = address.split(".");
  return `${parts[0]}.${parts[1]}.${parts[2]}.0/24`;
}

/** The /64 of an IPv6 address in text: expand "::", keep four groups, zero the rest. */
function prefix6(address: string): string {
  const [head, tail] = address.includes("::") ? address.split("::") : [address, undefined];
  const left = (head as string) === "" ? [] : (head as string).split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right].map((g) =>
    Number.parseInt(g, 16),
  );
  return `${formatIpv6([...groups.slice(0, 4), 0, 0, 0, 0])}/64`;
}
