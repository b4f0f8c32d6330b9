/**
 * Wall-clock times in the user's time zone (a preference) for `<input type="datetime-local">`,
 * which has no zone of its own: the browser's zone is not the user's when they set another one,
 * so the conversion is done here with Intl rather than with `Date`'s local-time methods.
 */
import { formatterFor } from "./format.js";

/** Year, month, day, hour, minute and second of an instant in `timeZone`. */
function wallParts(ms: number, timeZone: string): number[] {
  const byType: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(ms)) {
    if (part.type !== "literal") byType[part.type] = Number(part.value);
  }
  const pick = (type: string): number => byType[type] ?? 0;
  return [pick("year"), pick("month"), pick("day"), pick("hour"), pick("minute"), pick("second")];
}

/** How far `timeZone`'s wall clock is ahead of UTC at the instant `ms`, in ms. */
function offsetAt(ms: number, timeZone: string): number {
  const [y = 1970, mo = 1, d = 1, h = 0, mi = 0, s = 0] = wallParts(ms, timeZone);
  const whole = ms - (((ms % 1000) + 1000) % 1000);
  return Date.UTC(y, mo - 1, d, h, mi, s) - whole;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/**
 * The `datetime-local` value (`YYYY-MM-DDTHH:MM:SS`) of the instant `ms` on `timeZone`'s wall
 * clock. Milliseconds are dropped: job windows are picked to the second.
 */
export function toZonedInput(ms: number, timeZone: string): string {
  const [y = 1970, mo = 1, d = 1, h = 0, mi = 0, s = 0] = wallParts(ms, timeZone);
  return `${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(s)}`;
}

const LOCAL_VALUE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/;

/**
 * The instant (ms since the epoch) a `datetime-local` value names on `timeZone`'s wall clock;
 * NaN when the value is not one. A wall time skipped by a daylight-saving jump is read with the
 * offset from before the jump (02:30 on a spring-forward night is 03:30 after it); a repeated
 * one (the autumn fold) is one of its two instants.
 */
export function fromZonedInput(value: string, timeZone: string): number {
  const match = LOCAL_VALUE.exec(value.trim());
  if (match === null) return Number.NaN;
  const [, y, mo, d, h, mi, s = "0", frac = "0"] = match as unknown as string[];
  const wall = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s),
    Number(frac.padEnd(3, "0")),
  );
  // Date.UTC rolls 2024-02-31 over into March: a value the input would never give, so refuse it.
  const check = new Date(wall);
  if (check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1) return Number.NaN;
  // The offset at the wall time read as UTC is near the right one and one correction settles
  // it. In a spring-forward gap no instant fits: the two guesses use the offsets from either
  // side, and the later one (the offset from before the jump) moves the time forward.
  const first = wall - offsetAt(wall, timeZone);
  const second = wall - offsetAt(first, timeZone);
  return offsetAt(second, timeZone) === wall - second ? second : Math.max(first, second);
}
