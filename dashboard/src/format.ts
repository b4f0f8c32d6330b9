/**
 * Formatting shared by the pages: times in the user's time zone (a preference), ages, spans,
 * byte counts and percentages. Pure functions of their inputs, so pages stay declarative.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * A cached formatter of year to second, 24-hour, in `timeZone` (UTC for an unknown zone); its
 * `formatToParts` gives the wall-clock fields of an instant there.
 */
export function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat("sv-SE", {
        timeZone,
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
        hourCycle: "h23",
      });
    } catch {
      // An unknown zone (a stale preference): UTC rather than a broken page.
      formatter = formatterFor("UTC");
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/**
 * An RFC 3339 time as `YYYY-MM-DD HH:MM:SS` in `timeZone` (ISO-like order, unambiguous in every
 * locale); `—` for null or an unparsable value.
 */
export function formatTime(iso: string | null | undefined, timeZone: string): string {
  if (iso === null || iso === undefined) return "—";
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return "—";
  return formatterFor(timeZone).format(ms);
}

/** A duration in seconds as the two largest units: `45 s`, `3 min 12 s`, `2 h 5 min`, `3 d 4 h`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const units: readonly [string, number][] = [
    ["d", 86_400],
    ["h", 3_600],
    ["min", 60],
    ["s", 1],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || parts.length > 0) parts.push(`${n} ${unit}`);
    if (parts.length === 2) break;
  }
  return parts.filter((part) => !part.startsWith("0 ")).join(" ");
}

/** How long ago an RFC 3339 time was, relative to `now` (ms): `12 s ago`. */
export function formatAge(iso: string | null | undefined, now: number): string {
  if (iso === null || iso === undefined) return "never";
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return "—";
  return `${formatDuration((now - ms) / 1000)} ago`;
}

/** Bytes in binary units: `512 B`, `4.8 MiB`. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A percentage with one decimal under 10: `7.5 %`, `42 %`; `—` when unknown. */
export function formatPercent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} %`;
}

/** A count with thousands separators. */
export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return value.toLocaleString("en-US");
}

/** Hours of retention as days when long: `72 h` → `3.0 d`. */
export function formatHours(hours: number | null | undefined): string {
  if (hours === null || hours === undefined || !Number.isFinite(hours)) return "—";
  return hours >= 48 ? `${(hours / 24).toFixed(1)} d` : `${hours.toFixed(hours < 10 ? 1 : 0)} h`;
}

/** Time zone names the browser knows, for pickers (UTC first). */
export function timeZones(): readonly string[] {
  const supported = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf;
  const zones = supported === undefined ? [] : supported("timeZone");
  return ["UTC", ...zones.filter((zone) => zone !== "UTC")];
}
