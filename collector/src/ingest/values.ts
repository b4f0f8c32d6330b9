/**
 * Small conversions from protobuf values to what Postgres accepts without complaint. A value
 * Postgres would refuse (a NUL byte in text, a uint64 above bigint's range, NaN where a bound is
 * expected) would fail a whole batch of heartbeats, so each is made safe here instead.
 */

const maxInt64 = 9_223_372_036_854_775_807n;
const minInt64 = -9_223_372_036_854_775_808n;
/** 10000-01-01T00:00:00Z: timestamps from then on do not round-trip as ISO text. */
const maxMs = 253_402_300_800_000;

/** A 64-bit integer as decimal text, clamped to bigint's range (uint64 counters may exceed it). */
export function i64(value: bigint): string {
  if (value > maxInt64) return maxInt64.toString();
  if (value < minInt64) return minInt64.toString();
  return value.toString();
}

/** A finite number, or null for NaN, ±Infinity and absent values. */
export function numberOrNull(value: number | undefined): number | null {
  return value !== undefined && Number.isFinite(value) ? value : null;
}

/** Epoch ms of a ns timestamp; null for 0 ("none"), negative or far-future values. */
export function msFromNs(ns: bigint): number | null {
  if (ns <= 0n) return null;
  const ms = Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
  return ms < maxMs ? ms : null;
}

/** ISO 8601 text of an epoch ms value. */
export function isoFromMs(ms: number): string {
  return new Date(ms).toISOString();
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
const controlChars = /[\u0000-\u001f\u007f]/g;

/** Text without control characters (Postgres refuses NUL), cut to `max` characters. */
export function cleanText(text: string, max: number): string {
  const clean = text.replace(controlChars, "");
  return clean.length > max ? clean.slice(0, max) : clean;
}
