/**
 * Files of the summary history: one JSON file per held minute, named `MINUTE-GENERATION.json`
 * in {@link MINUTES_DIR} of the state directory. A file is written under a new generation and
 * only then referenced by the watermark manifest (renamed into place atomically), so the
 * manifest always names complete files consistent with its watermarks; files it does not name
 * (left by a crash between the two steps, or superseded) are removed. One file per minute keeps
 * each save small: after an indexing run only the minutes it changed are written.
 */
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CounterSnapshot, MinuteSnapshot } from "./minute-counts.js";

/** Subdirectory of the state directory holding the minute files. */
export const MINUTES_DIR = "summary-minutes";

const NAME = /^(\d+)-(\d+)\.json$/;

/** Name of the file of `minute` written at `generation`. */
export function minuteFileName(minute: number, generation: number): string {
  return `${minute}-${generation}.json`;
}

/** Writes the file of one minute at `generation` (the directory is created when missing). */
export async function writeMinuteFile(
  dir: string,
  snapshot: MinuteSnapshot,
  generation: number,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, minuteFileName(snapshot.minute, generation)), JSON.stringify(snapshot));
}

/** Reads the file of `minute` at `generation`; undefined when it is missing or damaged. */
export async function readMinuteFile(
  dir: string,
  minute: number,
  generation: number,
): Promise<MinuteSnapshot | undefined> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(join(dir, minuteFileName(minute, generation)), "utf8"));
  } catch {
    return undefined;
  }
  const snapshot = parsed as Partial<MinuteSnapshot> | null;
  if (snapshot === null || snapshot.minute !== minute || !Array.isArray(snapshot.counters)) return undefined;
  const counters: CounterSnapshot[] = [];
  for (const c of snapshot.counters as unknown[]) {
    if (!Array.isArray(c) || c.length !== 9 || !c.every((n) => Number.isFinite(n))) return undefined;
    counters.push(c as CounterSnapshot);
  }
  return { minute, counters };
}

/** Removes the minute files of `dir` whose names are not in `keep` (a missing dir is fine). */
export async function removeMinuteFiles(dir: string, keep: ReadonlySet<string>): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (NAME.test(name) && !keep.has(name)) await rm(join(dir, name), { force: true });
  }
}
