/**
 * Subnet traffic rows as the agent's catalogue produces them, their line encoding in the
 * on-disk heartbeat queue, and their protobuf form in a heartbeat.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type SubnetTrafficSchema, TrafficDirection } from "@pcapfleet/proto";

/** Traffic of one prefix in one minute of packet time, in one direction. */
export interface TrafficRow {
  /** Start of the minute, ns since the Unix epoch. */
  readonly minuteStartNs: bigint;
  /** CIDR prefix ("10.1.2.0/24"). */
  readonly prefix: string;
  /** Which address of the packets the prefix matched. */
  readonly direction: "src" | "dst";
  readonly bytes: number;
  readonly packets: number;
}

/** A row in the heartbeat queue, with the queue's id (one higher per row, never reused). */
export interface QueuedRow extends TrafficRow {
  readonly id: number;
}

/**
 * One queue line, without the newline:
 * `{"i":7,"m":"1700000040000000000","p":"10.0.0.0/24","d":"src","b":1500,"n":1}`.
 * The minute is a decimal string because JSON numbers cannot hold 64-bit nanoseconds.
 */
export function encodeRow(row: QueuedRow): string {
  return JSON.stringify({
    i: row.id,
    m: row.minuteStartNs.toString(),
    p: row.prefix,
    d: row.direction,
    b: row.bytes,
    n: row.packets,
  });
}

/** Parses a line written by {@link encodeRow}; `undefined` for anything else (torn or corrupt). */
export function decodeRow(line: string): QueuedRow | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { i, m, p, d, b, n } = value as Record<string, unknown>;
  if (!isCount(i) || i === 0 || !isCount(b) || !isCount(n)) return undefined;
  if (typeof m !== "string" || !/^\d{1,20}$/.test(m)) return undefined;
  if (typeof p !== "string" || p === "" || (d !== "src" && d !== "dst")) return undefined;
  return { id: i, minuteStartNs: BigInt(m), prefix: p, direction: d, bytes: b, packets: n };
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** The heartbeat form of a row. */
export function toSubnetTraffic(row: TrafficRow): MessageInitShape<typeof SubnetTrafficSchema> {
  return {
    minuteStartNs: row.minuteStartNs,
    prefix: row.prefix,
    direction: row.direction === "src" ? TrafficDirection.SRC : TrafficDirection.DST,
    bytes: BigInt(row.bytes),
    packets: BigInt(row.packets),
  };
}
