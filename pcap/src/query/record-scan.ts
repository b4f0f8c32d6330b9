/**
 * The per-file packet loop of a slice: walks the ranges of a {@link FileReadPlan} with the
 * reader's batch loop and hands every record that is a candidate, inside the window and accepted
 * by the filter to `onMatch`. The visitor is bound once and compares numbers only: nothing is
 * allocated per packet.
 */
import type { FilterPredicate } from "../filter/jit.js";
import type { CaptureReader } from "../format/capture-reader.js";
import { emptyRecord, type PacketRecord } from "../types.js";
import { type BatchBuffers, CandidateReads, type ClassicLayout, RunEnd } from "./candidate-reads.js";
import { isFileFailure, reasonOf } from "./file-failure.js";
import {
  COALESCE_GAP,
  type FileReadPlan,
  RangeKind,
  type ReadRange,
  type SliceWindow,
  stopInstant,
} from "./plan.js";
import type { SyncReader } from "./read-source.js";

/** The filter for a link type: a predicate, null (matches all), or the reason it cannot run. */
export type FilterLookup = (
  linkType: number,
  snaplen: number,
  littleEndian: boolean,
) => FilterPredicate | null | string;

/** What the output can hold: records that break these end the file (reported, not written). */
export interface OutputRules {
  /** The only link type of a classic pcap output, or -1 for pcapng output. */
  readonly linkType: number;
  /** Largest timestamp second the output format holds. */
  readonly maxSec: number;
}

/** A classic pcap file read synchronously: candidate ranges then bypass the reader. */
export interface DirectReads {
  readonly source: SyncReader;
  readonly layout: ClassicLayout;
  /** Where the batch buffer comes from and goes back to; null: a buffer of its own. */
  readonly buffers: BatchBuffers | null;
}

/** Scans the planned ranges of one open capture. */
export class RecordScan {
  /** Why the file ended early (corrupt record, I/O failure, unusable filter), else null. */
  error: string | null = null;
  /** Called for each matching record (the reader's cursor); return false to end the current batch. */
  onMatch: (rec: PacketRecord) => boolean = () => true;
  private readonly reader: CaptureReader;
  private readonly ranges: FileReadPlan["ranges"];
  private readonly cands: Float64Array;
  private readonly runGap: number;
  private ci = 0;
  /** Bytes of the ranges read through the reader. */
  private rangeBytes = 0;
  private next = 0;
  private open = false;
  private done = false;
  private rangeStart = 0;
  private kind: number = RangeKind.Scan;
  private stopRange = false;
  private readonly fromSec: number;
  private readonly fromNsec: number;
  private readonly toSec: number;
  private readonly toNsec: number;
  private readonly stopSec: number;
  private readonly stopNsec: number;
  private readonly lookup: FilterLookup;
  private readonly rules: OutputRules;
  private readonly snaplen: number;
  private linkType = -1;
  private test: FilterPredicate | null = null;
  /** Filters already looked up, by link type (pcapng files alternate between interfaces). */
  private readonly seenTypes: number[] = [];
  private readonly seenTests: (FilterPredicate | null)[] = [];
  private readonly visit: (rec: PacketRecord) => boolean;
  /** The candidate fast path (see candidate-reads.ts), or null. */
  private readonly direct: CandidateReads | null;
  private directBytes = 0;

  /**
   * Prepares a scan of `reader` (positioned at its first record) following `plan`. With
   * `direct`, candidate ranges are read by {@link CandidateReads} instead of the reader.
   */
  constructor(
    reader: CaptureReader,
    plan: FileReadPlan,
    window: SliceWindow,
    snaplen: number,
    lookup: FilterLookup,
    rules: OutputRules,
    direct: DirectReads | null = null,
  ) {
    this.reader = reader;
    this.ranges = plan.ranges;
    this.cands = plan.candidates ?? new Float64Array(0);
    this.runGap = plan.runGap ?? COALESCE_GAP;
    this.fromSec = window.from.sec;
    this.fromNsec = window.from.nsec;
    this.toSec = window.to.sec;
    this.toNsec = window.to.nsec;
    const stop = stopInstant(window);
    this.stopSec = stop.sec;
    this.stopNsec = stop.nsec;
    this.snaplen = snaplen;
    this.lookup = lookup;
    this.rules = rules;
    this.visit = (rec) => this.check(rec);
    this.direct =
      direct === null || this.cands.length === 0
        ? null
        : new CandidateReads(
            direct.source,
            direct.layout,
            this.cands,
            this.runGap,
            plan.bytes,
            emptyRecord(),
            (rec) => this.accept(rec),
            direct.buffers,
          );
  }

  /** Gives back what the scan borrowed from its slice (see `BatchBuffers`); the file is done with. */
  release(): void {
    this.direct?.release();
  }

  /** True once every range is read (or the file ended early). */
  get finished(): boolean {
    return this.done;
  }

  /** Capture bytes gone through. */
  get bytesRead(): number {
    return this.rangeBytes + this.directBytes;
  }

  /**
   * Reads one batch (at most a chunk of records) and reports its matches to `onMatch`.
   * Resolves to false once the file is finished. Format and I/O failures end the file and
   * set {@link RecordScan.error}; matches reported before them stand.
   */
  async step(): Promise<boolean> {
    while (!this.done) {
      if (!this.open && this.direct !== null && this.nextIsCandidates()) {
        if (this.stepDirect(this.direct) > 0) return !this.done;
        continue;
      }
      if (!this.open && !(await this.openNext())) break;
      let visited = 0;
      try {
        visited = await this.reader.readBatch(this.visit);
      } catch (error) {
        if (!isFileFailure(error)) throw error;
        this.error = reasonOf(error);
        this.closeRange();
        this.done = true;
        return false;
      }
      if (visited === 0 || this.stopRange) this.closeRange();
      if (this.error !== null) this.done = true;
      if (visited > 0) return !this.done;
    }
    return false;
  }

  /** True when a candidate is left inside `range`. */
  private candidateIn(range: ReadRange): boolean {
    return this.ci < this.cands.length && (this.cands[this.ci] as number) < range.end;
  }

  /** Skips candidate ranges with nothing left to test; true when the next range is a candidate range. */
  private nextIsCandidates(): boolean {
    let range = this.ranges[this.next];
    while (range !== undefined && range.kind === RangeKind.Candidates && !this.candidateIn(range)) {
      range = this.ranges[++this.next];
    }
    if (range === undefined) this.done = true;
    return range !== undefined && range.kind === RangeKind.Candidates;
  }

  /**
   * Reads consecutive candidate ranges with the fast path into one batch, until the batch is
   * full or a range of another kind comes. Returns the number of candidate records tested.
   */
  private stepDirect(direct: CandidateReads): number {
    direct.begin();
    direct.ci = this.ci;
    const before = direct.bytesRead;
    let visited = 0;
    try {
      for (;;) {
        const range = this.ranges[this.next];
        if (range === undefined || range.kind !== RangeKind.Candidates) {
          if (range === undefined) this.done = true;
          break;
        }
        const from = direct.ci;
        const end = direct.read(range.end);
        visited += direct.ci - from;
        if (end === RunEnd.Full) break;
        if (end === RunEnd.Stopped) {
          if (this.error !== null) this.done = true;
          break;
        }
        if (end === RunEnd.Truncated) {
          this.done = true;
          break;
        }
        this.next++;
        if (this.next >= this.ranges.length) {
          this.done = true;
          break;
        }
      }
    } catch (error) {
      if (!isFileFailure(error)) throw error;
      this.error = reasonOf(error);
      this.done = true;
    } finally {
      this.ci = direct.ci;
      this.directBytes += direct.bytesRead - before;
    }
    return visited;
  }

  private async openNext(): Promise<boolean> {
    let range = this.ranges[this.next];
    // Candidate ranges without a candidate left inside have nothing to test.
    while (range !== undefined && range.kind === RangeKind.Candidates && !this.candidateIn(range)) {
      range = this.ranges[++this.next];
    }
    if (range === undefined) {
      this.done = true;
      return false;
    }
    let start = range.start;
    let end = range.end;
    if (range.kind === RangeKind.Candidates) {
      // The next run of candidates less than runGap apart; the range is left once it has none.
      const cands = this.cands;
      let i = this.ci;
      start = cands[i] as number;
      let last = start;
      while (++i < cands.length && (cands[i] as number) < end && (cands[i] as number) - last <= this.runGap) {
        last = cands[i] as number;
      }
      end = last + 1;
    } else {
      this.next++;
    }
    const reader = this.reader;
    reader.setEnd(end);
    if (start >= 0) {
      try {
        await reader.seek(start);
      } catch (error) {
        if (!isFileFailure(error)) throw error;
        this.error = reasonOf(error);
        this.done = true;
        return false;
      }
    }
    this.kind = range.kind;
    this.rangeStart = reader.position;
    this.stopRange = false;
    this.open = true;
    return true;
  }

  private closeRange(): void {
    if (!this.open) return;
    this.open = false;
    this.rangeBytes += Math.max(0, this.reader.position - this.rangeStart);
    if (this.kind === RangeKind.Scan && this.stopRange) this.done = true;
    if (this.next >= this.ranges.length) this.done = true;
  }

  /** The per-packet test; see the module comment. */
  private check(rec: PacketRecord): boolean {
    if (this.kind === RangeKind.Candidates) {
      const cands = this.cands;
      const offset = rec.fileOffset;
      let i = this.ci;
      while (i < cands.length && (cands[i] as number) < offset) i++;
      this.ci = i;
      if (i === cands.length) {
        this.stopRange = true;
        return false;
      }
      if (cands[i] !== offset) return true;
      this.ci = i + 1;
    }
    if (
      this.kind === RangeKind.Scan &&
      (rec.tsSec > this.stopSec || (rec.tsSec === this.stopSec && rec.tsNsec >= this.stopNsec))
    ) {
      this.stopRange = true;
      return false;
    }
    return this.accept(rec);
  }

  /**
   * The window, the filter and the output's rules, for a record that is to be tested; hands
   * a match to `onMatch`. False when the file must end (the record breaks a rule).
   */
  private accept(rec: PacketRecord): boolean {
    const sec = rec.tsSec;
    const nsec = rec.tsNsec;
    if (sec < this.fromSec || (sec === this.fromSec && nsec < this.fromNsec)) return true;
    if (sec > this.toSec || (sec === this.toSec && nsec >= this.toNsec)) return true;
    if (rec.linkType !== this.linkType && !this.useLinkType(rec)) return false;
    const test = this.test;
    if (test !== null) {
      // libpcap cuts a record to the file's snapshot length before the filter sees it.
      const caplen = Math.min(rec.caplen, this.snaplen);
      if (!test(rec.buf, rec.dataOffset, caplen, rec.origLen)) return true;
    }
    if (sec > this.rules.maxSec) return this.fail(rec, `timestamp ${sec} does not fit the output format`);
    return this.onMatch(rec);
  }

  /** Switches the cached filter to the record's link type; false (and an error) when unusable. */
  private useLinkType(rec: PacketRecord): boolean {
    const wanted = this.rules.linkType;
    if (wanted >= 0 && rec.linkType !== wanted) {
      return this.fail(rec, `link type ${rec.linkType} in a slice written as link type ${wanted}`);
    }
    const known = this.seenTypes.indexOf(rec.linkType);
    if (known >= 0) {
      this.linkType = rec.linkType;
      this.test = this.seenTests[known] ?? null;
      return true;
    }
    const found = this.lookup(rec.linkType, this.snaplen, this.reader.littleEndian);
    if (typeof found === "string") return this.fail(rec, found);
    this.seenTypes.push(rec.linkType);
    this.seenTests.push(found);
    this.linkType = rec.linkType;
    this.test = found;
    return true;
  }

  private fail(rec: PacketRecord, reason: string): false {
    this.error = `${reason} at offset ${rec.fileOffset}`;
    this.stopRange = true;
    return false;
  }
}
