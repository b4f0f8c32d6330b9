/**
 * Instants of a slice window. Packet timestamps are whole seconds plus nanoseconds, and a
 * window bound must compare with them exactly: "1700000000.123456789" read as a double is
 * 1700000000.1234567 (53-bit mantissa), which would move the bound by up to ~100 ns and let a
 * packet in or out. So times are parsed as text into (sec, nsec) and never pass through a float.
 */
import { AppError, ErrorCode } from "@pcapfleet/core/errors";

/** A point in time: seconds since the epoch and nanoseconds within the second. */
export interface Instant {
  /** Whole seconds since 1970-01-01T00:00:00Z. */
  readonly sec: number;
  /** Nanoseconds, 0..999_999_999. */
  readonly nsec: number;
}

/** The earliest instant: a window without `from` starts here. */
export const EPOCH: Instant = Object.freeze({ sec: 0, nsec: 0 });

/**
 * Later than any packet: a window without `to` ends here. A finite number keeps comparisons
 * (which subtract) free of `Infinity - Infinity`.
 */
export const END_OF_TIME: Instant = Object.freeze({ sec: Number.MAX_SAFE_INTEGER, nsec: 0 });

const EPOCH_PATTERN = /^(\d{1,15})(?:\.(\d{0,9}))?$/;
const RFC3339_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses a window bound: epoch seconds with an optional fraction of up to 9 digits
 * ("1700000000", "1700000000.5", "1700000000.123456789"), or an RFC 3339 date-time
 * ("2023-11-14T22:13:20Z", "2023-11-14T23:13:20.123456789+01:00"; a space may replace the T).
 * Throws an `invalid_argument` AppError naming `what` (e.g. "--from") for anything else, including
 * finer than nanosecond precision (which could not be compared exactly) and leap seconds.
 */
export function parseInstant(text: string, what = "time"): Instant {
  const trimmed = text.trim();
  const epoch = EPOCH_PATTERN.exec(trimmed);
  if (epoch !== null) {
    const sec = Number(epoch[1]);
    if (!Number.isSafeInteger(sec)) throw bad(what, text, "seconds out of range");
    return { sec, nsec: fraction(epoch[2]) };
  }
  const date = RFC3339_PATTERN.exec(trimmed);
  if (date === null) {
    const hint = /^\d+\.\d{10,}$/.test(trimmed) ? "at most 9 fraction digits (nanoseconds)" : undefined;
    throw bad(what, text, hint ?? "expected RFC 3339 (2023-11-14T22:13:20Z) or epoch seconds (1700000000.5)");
  }
  const [, y, mo, d, h, mi, s, frac, zulu, sign, oh, om] = date;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  // Also keeps Date.UTC away from years 0..99, which it maps to 1900..1999.
  if (year < 1970) throw bad(what, text, "before 1970-01-01T00:00:00Z");
  if (month < 1 || month > 12) throw bad(what, text, "month out of range");
  if (day < 1 || day > daysInMonth(year, month)) throw bad(what, text, "day out of range");
  if (hour > 23 || minute > 59) throw bad(what, text, "hour or minute out of range");
  if (second > 59) throw bad(what, text, "seconds out of range (leap seconds are not supported)");
  let offset = 0;
  if (zulu === undefined) {
    const offsetHours = Number(oh);
    const offsetMinutes = Number(om);
    if (offsetHours > 23 || offsetMinutes > 59) throw bad(what, text, "UTC offset out of range");
    offset = (sign === "-" ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60);
  }
  // Date.UTC works in integer milliseconds: exact for whole seconds.
  const sec = Date.UTC(year, month - 1, day, hour, minute, second) / 1000 - offset;
  if (sec < 0) throw bad(what, text, "before 1970-01-01T00:00:00Z");
  return { sec, nsec: fraction(frac) };
}

/** Orders two instants like a comparator. */
export function compareInstant(a: Instant, b: Instant): number {
  return a.sec === b.sec ? a.nsec - b.nsec : a.sec - b.sec;
}

/** `instant` plus whole seconds (the reorder slack), saturating at {@link END_OF_TIME}. */
export function addSeconds(instant: Instant, seconds: number): Instant {
  const sec = instant.sec + seconds;
  return sec >= END_OF_TIME.sec ? END_OF_TIME : { sec, nsec: instant.nsec };
}

/** An instant as epoch seconds with 9 decimals, e.g. "1700000000.000000001" (for messages). */
export function formatInstant(instant: Instant): string {
  return `${instant.sec}.${String(instant.nsec).padStart(9, "0")}`;
}

/** "5" → 500_000_000, "123456789" → 123_456_789; digits are right-padded, never rounded. */
function fraction(digits: string | undefined): number {
  if (digits === undefined || digits === "") return 0;
  return Number(digits.padEnd(9, "0"));
}

function daysInMonth(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one.
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function bad(what: string, text: string, reason: string): AppError {
  return new AppError(ErrorCode.InvalidArgument, `bad ${what} '${text}': ${reason}`, {
    details: { field: what },
  });
}
