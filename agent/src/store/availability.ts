/**
 * PCAP availability figures of a store: ingest rate and retention forecast.
 *
 * Ingest rate: capture bytes written per second, measured from what the catalogue sees (files
 * growing, new files appearing; deletions do not count) over a sliding window of
 * {@link INGEST_WINDOW_MS}. Until {@link MIN_HISTORY_MS} of history exist (just after start), the
 * rate is estimated from the files themselves: bytes held / (newest - oldest packet time).
 *
 * Retention forecast, in hours: (bytes held + usable space) / rate / 3600 — how much packet time
 * the ring can hold once it fills the space it may use at the current rate. Usable space is the
 * filesystem's free space (available to unprivileged writers), or, when the agent's own capture
 * keeps the store's filesystem at most N% full (`maxDiskPercent`), N% of the filesystem minus
 * what is used, clamped to [0, free]. "The filesystem" there is used + available, the base of
 * df's Use% that the capture's retention compares with N (reserved blocks count for neither).
 * With no rate (nothing written), the current span (newest - oldest packet) is reported instead.
 */

/** Width of the ingest rate window. */
export const INGEST_WINDOW_MS = 5 * 60_000;
/** History needed before the measured rate replaces the estimate from file time spans. */
export const MIN_HISTORY_MS = 60_000;
/** Samples older than the window are dropped, except the newest of them (the window's base). */
const MAX_SAMPLES = 4096;

/** Counts bytes written to one store and turns them into a rate. */
export class IngestMeter {
  /** Bytes written since the meter started. */
  private written = 0;
  private readonly times: number[] = [];
  private readonly totals: number[] = [];

  /** `startMs`: when observation began (the first scan). */
  constructor(private readonly startMs: number) {
    this.times.push(startMs);
    this.totals.push(0);
  }

  /** Records `bytes` written at `nowMs`. */
  add(bytes: number, nowMs: number): void {
    if (!(bytes > 0)) return;
    this.written += bytes;
    const last = this.times.length - 1;
    if (this.times[last] === nowMs) {
      this.totals[last] = this.written;
    } else {
      this.times.push(nowMs);
      this.totals.push(this.written);
    }
    this.trim(nowMs);
  }

  /**
   * Bytes per second over the window ending at `nowMs`, or undefined while less than
   * {@link MIN_HISTORY_MS} has been observed.
   */
  rate(nowMs: number): number | undefined {
    if (nowMs - this.startMs < MIN_HISTORY_MS) return undefined;
    this.trim(nowMs);
    const from = nowMs - INGEST_WINDOW_MS;
    // Base: the total at the window start, i.e. the last sample at or before it.
    let base = 0;
    let baseTime = this.startMs;
    for (let i = 0; i < this.times.length; i++) {
      const t = this.times[i] as number;
      if (t > from) break;
      base = this.totals[i] as number;
      baseTime = t;
    }
    const elapsed = nowMs - Math.max(baseTime, from, this.startMs);
    return elapsed <= 0 ? 0 : ((this.written - base) * 1000) / elapsed;
  }

  private trim(nowMs: number): void {
    const from = nowMs - INGEST_WINDOW_MS;
    let drop = 0;
    // Keep one sample at or before the window start as its base.
    while (drop + 1 < this.times.length && (this.times[drop + 1] as number) <= from) drop++;
    if (this.times.length - drop > MAX_SAMPLES) drop = this.times.length - MAX_SAMPLES;
    if (drop > 0) {
      this.times.splice(0, drop);
      this.totals.splice(0, drop);
    }
  }
}

/** Estimated rate from the files' own time span: bytes / span, 0 without a span. */
export function rateFromSpan(bytes: number, oldestNs: bigint, newestNs: bigint): number {
  const spanNs = newestNs - oldestNs;
  if (spanNs <= 0n) return 0;
  return bytes / (Number(spanNs) / 1e9);
}

/**
 * Space a store may still fill: free space, or with a `maxDiskPercent` cap the space up to that
 * percent of used + available, clamped to [0, free]; 0 without disk figures. See the module comment.
 */
export function usableBytes(
  disk: { readonly usedBytes: number; readonly freeBytes: number } | undefined,
  maxDiskPercent?: number,
): number {
  if (disk === undefined) return 0;
  const free = Math.max(0, disk.freeBytes);
  if (maxDiskPercent === undefined) return free;
  const allowed = ((disk.usedBytes + free) * maxDiskPercent) / 100 - disk.usedBytes;
  return Math.min(free, Math.max(0, allowed));
}

/** Hours the store holds at `rate` with `usable` bytes still to fill; see the module comment. */
export function retentionForecastHours(
  bytesHeld: number,
  usable: number,
  rate: number,
  oldestNs: bigint,
  newestNs: bigint,
): number {
  if (rate > 0) return (bytesHeld + Math.max(0, usable)) / rate / 3600;
  const spanNs = newestNs - oldestNs;
  return spanNs > 0n ? Number(spanNs) / 1e9 / 3600 : 0;
}
