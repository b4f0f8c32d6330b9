/**
 * Calendar arithmetic for daily partitions. Days are UTC days: partition bounds are written
 * with an explicit `+00` offset, so a partition covers the same instants whatever the session's
 * TimeZone setting, and its name says which UTC day it holds.
 */

const dayMs = 86_400_000;

/** Start of the UTC day containing `at`, in epoch milliseconds. */
export function dayStart(at: Date): number {
  return Math.floor(at.getTime() / dayMs) * dayMs;
}

/** `day` plus `days` whole days. */
export function addDays(day: number, days: number): number {
  return day + days * dayMs;
}

/** `YYYYMMDD` of a UTC day, the suffix of a partition's name. */
export function daySuffix(day: number): string {
  return new Date(day).toISOString().slice(0, 10).replaceAll("-", "");
}

/** A timestamptz literal for the start of a UTC day: `2024-03-01 00:00:00+00`. */
export function dayLiteral(day: number): string {
  return `${new Date(day).toISOString().slice(0, 10)} 00:00:00+00`;
}

/** `<table>_pYYYYMMDD`: the partition of `table` holding `day`. */
export function partitionName(table: string, day: number): string {
  return `${table}_p${daySuffix(day)}`;
}

/**
 * The UTC day a partition of `table` holds, read from its name; undefined for any other table
 * (the default partition, or partitions someone else created), which the manager leaves alone.
 */
export function partitionDay(table: string, name: string): number | undefined {
  if (!name.startsWith(`${table}_p`)) return undefined;
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(name.slice(table.length + 2));
  if (match === null) return undefined;
  const day = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  // Reject names like _p20241340 that Date.UTC would silently roll over.
  return daySuffix(day) === name.slice(table.length + 2) ? day : undefined;
}
