/**
 * The persisted state of subnet summaries, in the state directory: how far each capture file has
 * been summarised (its watermark), and the totals of the minutes the summariser holds.
 *
 * Watermarks: indexes can be rebuilt (state directory wiped, format upgrade, a dense key forcing
 * a rebuild), and a rebuild shows every record to the summariser again; the watermark makes it
 * count each record once. A file is identified by path, device, inode and first packet time:
 * ring writers that truncate and reuse a name (tcpdump -W) keep the inode but not the first
 * packet.
 *
 * Totals: rows are totals that replace earlier rows at the collector, so after a restart a late
 * record for an already emitted minute must be added to that minute's persisted totals, not
 * start from zero (a smaller total would replace the collector's bigger one). The manifest
 * ({@link WATERMARK_FILE}) holds the watermarks and names the minute files (`minute-files.ts`);
 * both are saved together after each indexing run and at close, so what is on disk is always a
 * consistent pair: records behind a watermark are in the named totals. A minute file that cannot
 * be read moves the summariser's horizon past its minute (late records for it are dropped rather
 * than replace a total with a smaller one). A manifest of version 1 (watermarks only, written
 * when rows were additive) is read with an empty history; a changed prefix length drops the
 * history (its prefixes are not the configured ones).
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@pcapfleet/core";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import type { CaptureFile } from "@pcapfleet/pcap/query";
import type { MinuteSnapshot } from "./minute-counts.js";
import {
  MINUTES_DIR,
  minuteFileName,
  readMinuteFile,
  removeMinuteFiles,
  writeMinuteFile,
} from "./minute-files.js";
import type { SubnetSummarizer } from "./subnet-summary.js";

/** Name of the manifest (watermarks and minute file names) in the state directory. */
export const WATERMARK_FILE = "summary-watermarks.json";

/** The summarised extent of one file: records starting before `end` were counted. */
export interface Watermark {
  end: number;
  /** First packet time ("sec.nsec"), empty while the file had no packet. */
  first: string;
}

/** The summary history part of the manifest. */
interface ManifestSummary {
  prefixV4: number;
  prefixV6: number;
  /** The summariser's horizon (minutes since the epoch). */
  horizon: number;
  /** Generation of the last save; minute files carry the generation they were written at. */
  generation: number;
  /** Minute → generation of its file. */
  minutes: Record<string, number>;
}

interface Manifest {
  version: 1 | 2;
  files: Record<string, Watermark>;
  summary?: ManifestSummary;
}

/** The watermarks of every catalogued file and the summary history files; see the module comment. */
export class SummaryWatermarks {
  private readonly marks = new Map<string, Watermark>();
  private dirty = false;
  /** Minute → generation of its file, as the manifest on disk names them. */
  private refs = new Map<number, number>();
  private generation = 0;
  private savedHorizon = 0;

  private constructor(
    private readonly stateDir: string,
    private readonly log: Logger,
    private readonly summarizer: SubnetSummarizer,
  ) {}

  /**
   * Reads the manifest and the minute files it names, restoring their totals into `summarizer`
   * (which must not have counted anything yet); a missing or damaged manifest starts empty
   * (damage is logged). Minute files the manifest does not name are removed.
   */
  static async load(stateDir: string, log: Logger, summarizer: SubnetSummarizer): Promise<SummaryWatermarks> {
    const state = new SummaryWatermarks(stateDir, log, summarizer);
    const manifest = await readManifest(stateDir, log);
    for (const [key, mark] of Object.entries(manifest?.files ?? {})) {
      if (
        typeof mark === "object" &&
        mark !== null &&
        Number.isSafeInteger(mark.end) &&
        typeof mark.first === "string"
      ) {
        state.marks.set(key, { end: mark.end, first: mark.first });
      }
    }
    const summary = manifest?.summary;
    const dir = join(stateDir, MINUTES_DIR);
    if (typeof summary === "object" && summary !== null && validSummary(summary)) {
      if (summary.prefixV4 === summarizer.prefixV4 && summary.prefixV6 === summarizer.prefixV6) {
        await state.restore(dir, summary);
      } else {
        log.info(
          { was: [summary.prefixV4, summary.prefixV6], now: [summarizer.prefixV4, summarizer.prefixV6] },
          "summary prefix lengths changed; earlier minute totals dropped",
        );
      }
    }
    const keep = new Set([...state.refs].map(([minute, generation]) => minuteFileName(minute, generation)));
    await removeMinuteFiles(dir, keep);
    return state;
  }

  /**
   * The watermark of `file`, created at 0 for a file not seen before. The same object is
   * returned until {@link prune}: the record loop advances `end` in place.
   */
  entryFor(file: CaptureFile): Watermark {
    const key = keyOf(file);
    const first = file.first === undefined ? "" : `${file.first.sec}.${file.first.nsec}`;
    let mark = this.marks.get(key);
    if (
      mark === undefined ||
      (mark.first !== "" && first !== "" && mark.first !== first) ||
      mark.end > file.size
    ) {
      // New, or the name now holds another capture (truncated and rewritten in place).
      mark = { end: 0, first };
      this.marks.set(key, mark);
    } else if (mark.first === "" && first !== "") {
      mark.first = first;
    }
    this.dirty = true;
    return mark;
  }

  /** Forgets files no longer catalogued (rotated away), so the file stays small. */
  prune(current: readonly CaptureFile[]): void {
    const keep = new Set(current.map(keyOf));
    for (const key of this.marks.keys()) {
      if (!keep.has(key)) {
        this.marks.delete(key);
        this.dirty = true;
      }
    }
  }

  /**
   * Writes the minutes changed since the last save, then the manifest (atomically), then removes
   * the files it no longer names; nothing when nothing changed. Call it only while no indexing
   * run is active, so watermarks and totals are taken at the same point. Failures are logged and
   * retried on the next save.
   */
  async save(): Promise<void> {
    const summarizer = this.summarizer;
    const snapshots = summarizer.snapshotUnsaved();
    const held = summarizer.heldMinuteList();
    const horizon = summarizer.horizon;
    const minutesChanged =
      snapshots.length > 0 ||
      held.length !== this.refs.size ||
      held.some((minute) => !this.refs.has(minute)) ||
      horizon !== this.savedHorizon;
    if (!this.dirty && !minutesChanged) return;
    this.dirty = false;
    const generation = this.generation + 1;
    const dir = join(this.stateDir, MINUTES_DIR);
    const written = new Set(snapshots.map((s) => s.minute));
    const refs = new Map<number, number>();
    for (const minute of held) {
      const at = written.has(minute) ? generation : this.refs.get(minute);
      if (at !== undefined) refs.set(minute, at);
    }
    const body: Manifest = {
      version: 2,
      files: Object.fromEntries(this.marks),
      summary: {
        prefixV4: summarizer.prefixV4,
        prefixV6: summarizer.prefixV6,
        horizon,
        generation,
        minutes: Object.fromEntries([...refs].map(([minute, at]) => [String(minute), at])),
      },
    };
    const target = join(this.stateDir, WATERMARK_FILE);
    const temp = `${target}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await mkdir(this.stateDir, { recursive: true });
      for (const snapshot of snapshots) await writeMinuteFile(dir, snapshot, generation);
      await writeFile(temp, JSON.stringify(body));
      await rename(temp, target);
    } catch (cause) {
      this.dirty = true;
      summarizer.markUnsaved([...written]);
      await rm(temp, { force: true });
      const error = new AppError(ErrorCode.StorageIo, `cannot write ${target}`, { cause });
      this.log.error({ err: error }, "cannot save summary watermarks");
      return;
    }
    this.generation = generation;
    this.savedHorizon = horizon;
    const previous = this.refs;
    this.refs = refs;
    for (const [minute, at] of previous) {
      if (refs.get(minute) !== at) await rm(join(dir, minuteFileName(minute, at)), { force: true });
    }
  }

  /** Reads the minute files `summary` names into the summariser. */
  private async restore(dir: string, summary: ManifestSummary): Promise<void> {
    const snapshots: MinuteSnapshot[] = [];
    let horizon = summary.horizon;
    let lost = 0;
    for (const [key, generation] of Object.entries(summary.minutes)) {
      const minute = Number(key);
      const snapshot = await readMinuteFile(dir, minute, generation);
      if (snapshot === undefined) {
        // Its totals are gone: late records for it must not start a smaller total.
        horizon = Math.max(horizon, minute + 1);
        lost++;
        continue;
      }
      snapshots.push(snapshot);
      this.refs.set(minute, generation);
    }
    if (lost > 0) this.log.warn({ minutes: lost, horizon }, "summary minute files missing or damaged");
    this.summarizer.restore(snapshots, horizon);
    this.generation = summary.generation;
    this.savedHorizon = horizon;
  }
}

/** The manifest, undefined when missing or damaged (damage is logged). */
async function readManifest(stateDir: string, log: Logger): Promise<Partial<Manifest> | undefined> {
  let text: string;
  try {
    text = await readFile(join(stateDir, WATERMARK_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      log.warn({ err: error }, "cannot read summary watermarks; starting without");
    }
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === "object" && parsed !== null) return parsed as Partial<Manifest>;
  } catch {
    // Logged below.
  }
  log.warn({ file: WATERMARK_FILE }, "damaged summary watermarks; starting without");
  return undefined;
}

function validSummary(summary: Partial<ManifestSummary>): summary is ManifestSummary {
  return (
    Number.isInteger(summary.prefixV4) &&
    Number.isInteger(summary.prefixV6) &&
    Number.isSafeInteger(summary.horizon) &&
    Number.isSafeInteger(summary.generation) &&
    typeof summary.minutes === "object" &&
    summary.minutes !== null &&
    Object.entries(summary.minutes).every(([k, g]) => /^\d+$/.test(k) && Number.isSafeInteger(g))
  );
}

function keyOf(file: CaptureFile): string {
  return `${file.dev}:${file.ino}:${file.path}`;
}
