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

const msPerDay = 86_400_000;
const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/**
 * ISO 8601 text of an epoch ms value, exactly as `new Date(ms).toISOString()` writes it. A
 * heartbeat needs about ten of these (received time, packet times, traffic minutes), and
 * `toISOString` cost ~1 µs each; this arithmetic (days to a civil date, H. Hinnant's algorithm)
 * does the common range, 1970 to 9999, in a fraction of that.
 */
export function isoFromMs(ms: number): string {
  if (!(ms >= 0 && ms < maxMs)) return new Date(ms).toISOString();
  const t = Math.floor(ms);
  const days = Math.floor(t / msPerDay);
  let rest = t - days * msPerDay;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  // Days since 0000-03-01, in 400-year eras: the leap day falls at the end of each year.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return `${year}-${pad2(month)}-${pad2(day)}T${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${pad3(millis)}Z`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
const controlChars = /[\u0000-\u001f\u007f]/g;

/** Text without control characters (Postgres refuses NUL), cut to `max` characters. */
export function cleanText(text: string, max: number): string {
  const clean = text.replace(controlChars, "");
  return clean.length > max ? clean.slice(0, max) : clean;
}
