/**
 * Turns a catalogued file into a stream of matching packets: loads its index (when the state
 * directory has a usable one), plans the bytes to read, and opens the file. Opening is lazy
 * (the merge asks for a file when it reaches its first packet), so a slice over a large store
 * holds few open files at any time.
 */

import { statSync } from "node:fs";
import { stat } from "node:fs/promises";
import type { FilterCompiler } from "../filter/compile.js";
import type { CaptureReader } from "../format/capture-reader.js";
import { openCapture, openSource } from "../format/open.js";
import { ALL_CANDIDATES, type Candidates } from "../index-file/candidates.js";
import { IndexFormatError } from "../index-file/codec.js";
import { asyncIndexFs, syncIndexFs } from "../index-file/index-fs.js";
import { discardIndex, openIndexView } from "../index-file/store.js";
import type { FilterPlan } from "../plan/filter-terms.js";
import { LinkType } from "../types.js";
import { type BatchSource, LocalSource } from "./batch-source.js";
import { BatchBuffers } from "./candidate-reads.js";
import type { CaptureFile, SkippedFile } from "./catalogue.js";
import { isFileFailure, reasonOf } from "./file-failure.js";
import { effectiveSnaplen, type FilterKey, FilterSet } from "./filter-set.js";
import {
  COALESCE_GAP,
  type FileReadPlan,
  planFromIndex,
  planScan,
  RangeKind,
  SCAN_CHUNK,
  type SliceWindow,
  SYNC_COALESCE_GAP,
} from "./plan.js";
import { openSyncSource } from "./read-source.js";
import { type DirectReads, type FilterLookup, type OutputRules, RecordScan } from "./record-scan.js";
import type { SliceOutputPlan } from "./slice-output.js";

/** Reader buffer of a synchronously read file whose plan has only candidate ranges. */
const CANDIDATE_CHUNK = 16 * 1024;
/**
 * Most candidate offsets {@link FileOpener.planAhead} keeps planned before the merge takes them:
 * 8 MB, whatever the store (plans of files the merge has not reached are otherwise not held).
 */
const AHEAD_CANDIDATES = 1 << 20;

/** Settings shared by every file of a slice. */
export interface OpenerSettings {
  readonly window: SliceWindow;
  readonly expression: string;
  readonly filterPlan: FilterPlan;
  readonly stateDir: string | undefined;
  readonly rules: OutputRules;
  /** Read captures with synchronous reads on the calling thread (see read-source.ts). */
  readonly syncReads: boolean;
  /** Compiles the filter; undefined for the process-wide shared compiler. */
  readonly filterCompiler?: FilterCompiler | undefined;
}

/** A file ready to merge, or why it was not opened (source null and skip null: nothing to read). */
export interface OpenedFile {
  readonly source: BatchSource | null;
  readonly skip: SkippedFile | null;
}

/** Opens the files of one slice; see the module comment. */
export class FileOpener {
  private readonly settings: OpenerSettings;
  private readonly filters: FilterSet;
  private readonly lookup: FilterLookup;
  /** Plans made by {@link FileOpener.planAhead}, by merge order, until {@link FileOpener.open} takes them. */
  private readonly planned = new Map<number, FileReadPlan>();
  /** Batch buffers of the files read directly, reused from file to file. */
  private readonly buffers = new BatchBuffers();

  /** An opener for one slice. */
  constructor(settings: OpenerSettings) {
    this.settings = settings;
    this.filters = new FilterSet(settings.expression, settings.filterCompiler);
    this.lookup = (linkType, snaplen, littleEndian) => {
      const compiled = this.filters.get({ linkType, snaplen, littleEndian });
      return compiled.ok ? compiled.test : compiled.error.message;
    };
  }

  /**
   * Compiles the filter for every capture format among `files` (or, with none, for the output's
   * link type, so a bad expression fails even on an empty store). Throws libpcap's FilterError
   * when the expression fits none of them.
   */
  async prepareFilters(files: readonly CaptureFile[], output: SliceOutputPlan): Promise<void> {
    const keys: FilterKey[] = [];
    for (const file of files) for (const key of fileKeys(file)) keys.push(key);
    if (keys.length === 0) {
      keys.push({
        linkType: output.linkTypes[0] ?? LinkType.ETHERNET,
        snaplen: output.snaplen,
        littleEndian: true,
      });
    }
    await this.filters.prepare(keys);
  }

  /**
   * Plans the first of `files` (merge order) while `busy()` holds, keeping at most
   * {@link AHEAD_CANDIDATES} candidate offsets: work for the main thread while libpcap compiles
   * the filter in its child process (10-20 ms of a fresh CLI), which a slice otherwise waits for
   * before reading any index. With synchronous index reads `busy()` is not seen to change (the
   * child's exit is an event the loop handles after this returns): the budget bounds it.
   */
  async planAhead(files: readonly CaptureFile[], busy: () => boolean): Promise<void> {
    let held = 0;
    for (let order = 0; order < files.length && busy() && held < AHEAD_CANDIDATES; order++) {
      const plan = await this.plan(files[order] as CaptureFile);
      this.planned.set(order, plan);
      held += plan.candidates?.length ?? 0;
    }
  }

  /** Plans `file` (index or scan) and opens it; `order` is its place in merge order. */
  async open(order: number, file: CaptureFile): Promise<OpenedFile> {
    let plan = this.planned.get(order);
    this.planned.delete(order);
    // A plan made ahead describes the file as it was then: one changed since (a ring writer
    // reusing the name) is planned again, which checks its index against it anew.
    if (plan === undefined || (plan.indexed && (await this.changed(file)))) plan = await this.plan(file);
    if (plan.ranges.length === 0) return { source: null, skip: null };
    const keys = fileKeys(file);
    const usable = keys.length === 0 || keys.some((key) => this.filters.get(key).ok);
    if (!usable) {
      const first = this.filters.get(keys[0] as FilterKey);
      return { source: null, skip: { path: file.path, reason: first.ok ? "" : first.error.message } };
    }
    try {
      let reader: CaptureReader;
      let direct: DirectReads | null = null;
      if (this.settings.syncReads) {
        const source = openSyncSource(file.path);
        // Candidate-only plans of classic files bypass the reader's buffer: keep it small.
        const onlyCandidates = plan.ranges.every((range) => range.kind === RangeKind.Candidates);
        reader = await openSource(source, { chunkSize: onlyCandidates ? CANDIDATE_CHUNK : SCAN_CHUNK });
        if (reader.format === "pcap") {
          const layout = {
            name: reader.name,
            littleEndian: reader.littleEndian,
            nanosecond: reader.nanosecond,
            linkType: reader.linkTypes[0] ?? LinkType.ETHERNET,
          };
          direct = { source, layout, buffers: this.buffers };
        }
      } else {
        reader = await openCapture(file.path, { chunkSize: SCAN_CHUNK });
      }
      const snaplen = effectiveSnaplen(reader.snaplen);
      const scan = new RecordScan(
        reader,
        plan,
        this.settings.window,
        snaplen,
        this.lookup,
        this.settings.rules,
        direct,
      );
      return { source: new LocalSource(order, file.path, reader, scan), skip: null };
    } catch (error) {
      if (!isFileFailure(error)) throw error;
      return { source: null, skip: { path: file.path, reason: reasonOf(error) } };
    }
  }

  /** True when `file` is not, or no longer, what the catalogue saw (identity, size, mtime). */
  private async changed(file: CaptureFile): Promise<boolean> {
    try {
      const st = this.settings.syncReads
        ? statSync(file.path, { bigint: true })
        : await stat(file.path, { bigint: true });
      return (
        st.ino !== file.ino ||
        st.dev !== file.dev ||
        Number(st.size) !== file.size ||
        Number(st.mtimeMs) !== file.mtimeMs
      );
    } catch {
      return true;
    }
  }

  /**
   * What to read of `file`: by its index when there is a usable one, else a scan. Only the
   * parts of the index the window and the filter need are read (see `IndexView`).
   */
  async plan(file: CaptureFile): Promise<FileReadPlan> {
    const { stateDir, window, filterPlan, syncReads } = this.settings;
    if (stateDir === undefined) return planScan(file, window);
    // An unreadable index is no index: the file is scanned instead.
    const fs = syncReads ? syncIndexFs : asyncIndexFs;
    const view = await openIndexView(stateDir, file.path, { fs }).catch(() => undefined);
    if (view === undefined) return planScan(file, window);
    try {
      const { from, to } = window;
      const blocks = view.blocksInWindow(from.sec, from.nsec, to.sec, to.nsec);
      let narrowed: Candidates = ALL_CANDIDATES;
      if (blocks.length > 0) {
        try {
          narrowed = await view.candidates(filterPlan);
        } catch (error) {
          // A posting list that cannot be read is no index either; a damaged one goes (as
          // loadIndex does with damaged files).
          if (error instanceof IndexFormatError) await discardIndex(view);
          return planScan(file, window);
        }
      }
      const gap = syncReads ? SYNC_COALESCE_GAP : COALESCE_GAP;
      return planFromIndex(view.header, blocks, narrowed, window, file.size, gap);
    } finally {
      await view.close();
    }
  }
}

/** The filter keys of a file's header: one per declared link type. */
export function fileKeys(file: CaptureFile): FilterKey[] {
  const snaplen = effectiveSnaplen(file.snaplen);
  return file.linkTypes.map((linkType) => ({ linkType, snaplen, littleEndian: file.littleEndian }));
}
