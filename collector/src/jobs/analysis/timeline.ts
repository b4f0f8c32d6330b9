/**
 * Packets and bytes per time bucket over a job's window. A window can be a minute or weeks, so
 * the bucket width is picked from a ladder of round durations to give at most
 * {@link MAX_BUCKETS} buckets: enough for a chart's width, small enough to store with the job.
 */

import { isoTime } from "./names.js";

/** Most buckets a timeline has. */
export const MAX_BUCKETS = 600;

/** Round bucket widths in seconds, smallest first; beyond a day, whole days. */
const LADDER: readonly number[] = [
  1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
];

const DAY_S = 86_400;

/**
 * The smallest width from the ladder (1 s, 2 s, 5 s, 10 s, 30 s, 1 min, 2 min, 5 min, 10 min,
 * 30 min, 1 h, 2 h, 3 h, 6 h, 12 h, 1 day, then whole days) that covers `spanMs` milliseconds
 * in at most {@link MAX_BUCKETS} buckets.
 */
export function chooseBucketSeconds(spanMs: number): number {
  for (const seconds of LADDER) if (spanMs <= seconds * 1000 * MAX_BUCKETS) return seconds;
  return DAY_S * Math.ceil(spanMs / (DAY_S * 1000 * MAX_BUCKETS));
}

/** The timeline of an analysis as JSON. */
export interface TimelineJson {
  /** Start of the first bucket: the window's start, RFC 3339 with milliseconds. */
  start: string;
  /** End of the window (exclusive); the last bucket may be cut short by it. */
  end: string;
  /** Width of every bucket in seconds (see {@link chooseBucketSeconds}). */
  bucket_seconds: number;
  /** Packets per bucket; bucket i covers [start + i * bucket_seconds, start + (i + 1) * bucket_seconds). */
  packets: number[];
  /** Bytes (original lengths) per bucket, same buckets. */
  bytes: number[];
  /** Packets whose timestamp falls outside the window: in the totals, in no bucket. */
  outside_window_packets: number;
}

/** Bucketed counts over [startMs, endMs). */
export class Timeline {
  /** Width of a bucket in seconds. */
  readonly bucketSeconds: number;
  private readonly startMs: number;
  private readonly endMs: number;
  private readonly bucketMs: number;
  private readonly packets: Float64Array;
  private readonly bytes: Float64Array;
  private outside = 0;

  /** A timeline of [startMs, endMs); the caller has checked that endMs > startMs. */
  constructor(startMs: number, endMs: number) {
    this.startMs = startMs;
    this.endMs = endMs;
    this.bucketSeconds = chooseBucketSeconds(endMs - startMs);
    this.bucketMs = this.bucketSeconds * 1000;
    const buckets = Math.ceil((endMs - startMs) / this.bucketMs);
    this.packets = new Float64Array(buckets);
    this.bytes = new Float64Array(buckets);
  }

  /** Counts a packet of `bytes` bytes at `ms` milliseconds since the epoch. */
  add(ms: number, bytes: number): void {
    if (ms < this.startMs || ms >= this.endMs) {
      this.outside++;
      return;
    }
    // min(): rounding must not push a packet just before the end past the last bucket.
    const i = Math.min(Math.floor((ms - this.startMs) / this.bucketMs), this.packets.length - 1);
    this.packets[i] = (this.packets[i] as number) + 1;
    this.bytes[i] = (this.bytes[i] as number) + bytes;
  }

  /** The counts as JSON. */
  toJSON(): TimelineJson {
    return {
      start: isoTime(this.startMs),
      end: isoTime(this.endMs),
      bucket_seconds: this.bucketSeconds,
      packets: Array.from(this.packets),
      bytes: Array.from(this.bytes),
      outside_window_packets: this.outside,
    };
  }
}
