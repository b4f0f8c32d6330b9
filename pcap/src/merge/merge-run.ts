/**
 * The merge's packet loop. The heap's top input emits packets while they sort before the
 * runner-up's next packet (the heap is touched once per run, not per packet); consecutive raw
 * records of a run leave as one copy; caps are checked per packet. Everything here is
 * synchronous except refilling an input and waiting for the output to drain.
 */
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { CLASSIC_RECORD_HEADER, PcapWriter } from "../format/index.js";
import { emptyRecord, type PacketRecord } from "../types.js";
import { type MergeInput, STRIDE } from "./merge-input.js";
import type { MergeWriter, OutputPlan } from "./merge-io.js";
import type { TimeHeap } from "./time-heap.js";

/**
 * Sees each merged packet before it is written (the collector's analysis pass). `rec` is one
 * reused cursor over the input's read buffer; `input` is the index of the packet's input.
 */
export type PacketObserver = (rec: PacketRecord, input: number) => void;

/** Limits and hooks of a run, resolved (no optional fields). */
export interface RunLimits {
  /** Output size cap in bytes (Infinity: none). */
  maxBytes: number;
  /** Packet cap (Infinity: none). */
  maxPackets: number;
  /** Per-packet observer, or null. */
  onPacket: PacketObserver | null;
  /** Cancellation, or null. */
  signal: AbortSignal | null;
}

/** Runs between two looks at the abort signal and the clock, besides each refill. */
const CHECK_MASK = 1023;
/** Longest the merge keeps the event loop to itself, in milliseconds. */
const YIELD_MS = 10;

/** One merge from loaded inputs to the end (or a cap). */
export class MergeRun {
  /** Packets written so far. */
  packets = 0;
  private bytes: number;
  private readonly heap: TimeHeap;
  private readonly inputs: (MergeInput | undefined)[];
  private readonly writer: MergeWriter;
  private readonly raw: PcapWriter | null;
  private readonly pcapng: boolean;
  private readonly limits: RunLimits;
  private readonly rec: PacketRecord = emptyRecord();

  /** `inputs` must be loaded (first batch read) and those with packets pushed on `heap`. */
  constructor(
    heap: TimeHeap,
    inputs: readonly MergeInput[],
    writer: MergeWriter,
    plan: OutputPlan,
    limits: RunLimits,
  ) {
    this.heap = heap;
    // Indexed by input index, so the heap's top maps to its input without a search.
    this.inputs = [];
    for (const input of inputs) this.inputs[input.index] = input;
    this.writer = writer;
    this.raw = writer instanceof PcapWriter ? writer : null;
    this.pcapng = plan.format === "pcapng";
    this.limits = limits;
    this.bytes = writer.bytesWritten;
  }

  /** Merges until every input ends (false) or a cap is reached (true). */
  async run(): Promise<boolean> {
    const heap = this.heap;
    const signal = this.limits.signal;
    let runs = 0;
    let lastYield = performance.now();
    while (heap.size > 0) {
      const input = this.inputs[heap.top] as MergeInput;
      const capped = this.emit(input, heap.runnerUp());
      if (this.writer.needsDrain) await this.writer.drain();
      if (capped) return true;
      const refill = input.pos === input.count;
      if (refill || (++runs & CHECK_MASK) === 0) {
        throwIfAborted(signal);
        // Sync reads and a sink that never pushes back would otherwise hold the event loop for
        // the whole merge: give it a turn every few milliseconds.
        if (performance.now() - lastYield > YIELD_MS) {
          await yieldToLoop();
          lastYield = performance.now();
        }
      }
      if (refill && !(await input.refill())) {
        heap.pop();
        continue;
      }
      const o = input.pos * STRIDE;
      heap.replaceTop(input.meta[o] as number, input.meta[o + 1] as number);
    }
    return false;
  }

  /**
   * Writes packets of `input` from its position while they sort before `runnerUp`'s key (all of
   * them when it is -1). Returns true when a cap stopped it.
   */
  private emit(input: MergeInput, runnerUp: number): boolean {
    const heap = this.heap;
    const m = input.meta;
    const buf = input.buf;
    const n = input.count;
    const index = input.index;
    const rank = heap.rank[index] as number;
    let limSec = Number.POSITIVE_INFINITY;
    let limNsec = 0;
    let limRank = 0;
    if (runnerUp >= 0) {
      limSec = heap.sec[runnerUp] as number;
      limNsec = heap.nsec[runnerUp] as number;
      limRank = heap.rank[runnerUp] as number;
    }
    const { maxBytes, maxPackets, onPacket } = this.limits;
    const writer = this.writer;
    const pcapng = this.pcapng;
    let bytes = this.bytes;
    let packets = this.packets;
    let runStart = 0;
    let runEnd = -1;
    let capped = false;
    let p = input.pos;
    for (; p < n; p++) {
      const o = p * STRIDE;
      const sec = m[o] as number;
      const nsec = m[o + 1] as number;
      if (sec > limSec || (sec === limSec && (nsec > limNsec || (nsec === limNsec && rank > limRank)))) break;
      const caplen = m[o + 3] as number;
      const raw = m[o + 9] === 1;
      // A raw record is already in output form (never cut): its size is the bytes it spans.
      const size = raw ? CLASSIC_RECORD_HEADER + caplen : writer.recordBytes(caplen);
      if (packets >= maxPackets || bytes + size > maxBytes) {
        capped = true;
        break;
      }
      packets += 1;
      bytes += size;
      if (onPacket !== null) onPacket(this.load(buf, m, o), index);
      if (raw) {
        const start = (m[o + 2] as number) - CLASSIC_RECORD_HEADER;
        if (start !== runEnd) {
          if (runEnd >= 0) (this.raw as PcapWriter).writeRecords(buf, runStart, runEnd);
          runStart = start;
        }
        runEnd = start + size;
      } else {
        if (runEnd >= 0) {
          (this.raw as PcapWriter).writeRecords(buf, runStart, runEnd);
          runEnd = -1;
        }
        writer.write(onPacket !== null ? this.rec : this.load(buf, m, o));
        // pcapng adds an interface for a link type first seen now: count its bytes too.
        if (pcapng) bytes = writer.bytesWritten;
      }
    }
    if (runEnd >= 0) (this.raw as PcapWriter).writeRecords(buf, runStart, runEnd);
    input.packets += p - input.pos;
    input.pos = p;
    this.packets = packets;
    this.bytes = bytes;
    return capped;
  }

  /** Points the reused cursor at packet `o` (a meta offset) of a batch. */
  private load(buf: Buffer, m: Float64Array, o: number): PacketRecord {
    const rec = this.rec;
    rec.buf = buf;
    rec.tsSec = m[o] as number;
    rec.tsNsec = m[o + 1] as number;
    rec.dataOffset = m[o + 2] as number;
    rec.caplen = m[o + 3] as number;
    rec.origLen = m[o + 4] as number;
    rec.linkType = m[o + 5] as number;
    rec.interfaceId = m[o + 6] as number;
    rec.fileOffset = m[o + 7] as number;
    rec.recordLength = m[o + 8] as number;
    return rec;
  }
}

/** Throws the merge's `cancelled` error when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | null | undefined): void {
  if (signal?.aborted === true) {
    throw new AppError(ErrorCode.Cancelled, "merge cancelled", { cause: signal.reason });
  }
}
