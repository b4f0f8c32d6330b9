/**
 * The fast path for an indexed selective slice of a classic pcap file read synchronously: the
 * candidate records' offsets are known, so they are read run by run (one `pread` for each run of
 * close candidates) into one batch buffer and parsed in place, without the streaming reader.
 *
 * Measured on the 2.1 GB benchmark ring (`host X and tcp`, 46 000 candidates in 23 000 runs):
 * through the reader each run cost about 3 µs besides the read itself (a seek, a batch and a
 * refill, each a chain of awaited promises), 70 ms in all; here a run costs its `pread`. The
 * batch holds the matches of many runs, so the merge is handed one batch per buffer, not one
 * per run. pcapng files keep the reader: their records depend on interface state the reader
 * keeps (link types, timestamp resolutions, sections).
 */
import { MAX_CAPLEN, type PacketRecord, PcapFormatError } from "../types.js";
import { READ_AHEAD, type SyncReader } from "./read-source.js";

/**
 * Largest batch buffer: the matches of one batch are merged before the next is read. A file
 * whose candidates need less gets a buffer of that size (most files of a selective slice hold
 * a few kilobytes of matches).
 */
export const BATCH_BYTES = 512 * 1024;
/** Smallest batch buffer. */
const MIN_BATCH = 16 * 1024;
/** Classic record header length. */
const HEADER = 16;

/** Given-back batch buffers kept for reuse by one slice. */
const MAX_SPARE = 4;
/** The buffer of a scan that has none (yet, or any more). */
const NO_BUFFER = Buffer.alloc(0);

/**
 * Batch buffers handed from file to file of one slice. A fresh buffer's pages are faulted in
 * and zeroed by the kernel as the first reads fill them: about 3 µs per 4 KiB page here, 5 ms
 * for the 16 buffers of 512 KiB of a selective slice over the benchmark ring. Files of a ring
 * are merged one after the other, so a buffer given back by a finished file serves the next.
 */
export class BatchBuffers {
  private readonly spare: Buffer[] = [];

  /** A buffer of at least `bytes` bytes: a given-back one when one is large enough. */
  take(bytes: number): Buffer {
    for (let i = this.spare.length - 1; i >= 0; i--) {
      const buf = this.spare[i] as Buffer;
      if (buf.length >= bytes) {
        this.spare.splice(i, 1);
        return buf;
      }
    }
    return Buffer.allocUnsafe(bytes);
  }

  /** Gives `buf` back for another file: its owner never reads or writes it again. */
  give(buf: Buffer): void {
    if (buf.length > 0 && this.spare.length < MAX_SPARE) this.spare.push(buf);
  }
}

/** What a classic pcap file's header says about its records. */
export interface ClassicLayout {
  /** The file, for errors. */
  readonly name: string;
  readonly littleEndian: boolean;
  readonly nanosecond: boolean;
  /** Link type of every record. */
  readonly linkType: number;
}

/** How a call to {@link CandidateReads.read} ended. */
export const RunEnd = {
  /** Every candidate before the range end was read. */
  Range: 0,
  /** The batch buffer is full: call again (after the merge consumed the batch) to go on. */
  Full: 1,
  /** `accept` returned false: the scan must stop reading this batch (an error, or a stop). */
  Stopped: 2,
  /** The file ends before a candidate record does (it was truncated after indexing). */
  Truncated: 3,
} as const;

/** One of {@link RunEnd}. */
export type RunEnd = (typeof RunEnd)[keyof typeof RunEnd];

/** Reads candidate records of one classic pcap file into batches; see the module comment. */
export class CandidateReads {
  /** Bytes read from the file so far. */
  bytesRead = 0;
  /** Index of the next candidate to read. */
  ci = 0;
  private buf: Buffer = NO_BUFFER;
  private used = 0;
  private readonly rec: PacketRecord;
  private readonly source: SyncReader;
  private readonly layout: ClassicLayout;
  private readonly cands: Float64Array;
  private readonly gap: number;
  private readonly accept: (rec: PacketRecord) => boolean;

  private readonly batchBytes: number;
  private readonly buffers: BatchBuffers | null;

  /**
   * Reads `cands` (ascending record offsets) from `source`, candidates less than `gap` bytes
   * apart in one read; each record is handed to `accept` (the reused `rec`, its bytes in the
   * batch buffer until the next {@link begin}). `estimate` is the bytes the reads will span
   * (the plan's), which sizes the batch buffer, taken from `buffers` when given.
   */
  constructor(
    source: SyncReader,
    layout: ClassicLayout,
    cands: Float64Array,
    gap: number,
    estimate: number,
    rec: PacketRecord,
    accept: (rec: PacketRecord) => boolean,
    buffers: BatchBuffers | null = null,
  ) {
    this.buffers = buffers;
    this.batchBytes = Math.min(BATCH_BYTES, Math.max(MIN_BATCH, estimate + cands.length * READ_AHEAD));
    this.source = source;
    this.layout = layout;
    this.cands = cands;
    this.gap = gap;
    this.rec = rec;
    this.accept = accept;
  }

  /** Starts a new batch: the previous one's bytes may be overwritten from here on. */
  begin(): void {
    if (this.buf.length === 0) {
      this.buf =
        this.buffers === null ? Buffer.allocUnsafe(this.batchBytes) : this.buffers.take(this.batchBytes);
    }
    this.used = 0;
  }

  /** Gives the batch buffer back (see {@link BatchBuffers}): the file is done with. */
  release(): void {
    this.buffers?.give(this.buf);
    this.buf = NO_BUFFER;
    this.used = 0;
  }

  /**
   * Reads the candidates from {@link ci} that start before `end` into the current batch, one
   * read per run.
   * Throws the reader's `PcapFormatError` for an impossible caplen, and the source's storage
   * error when a read fails.
   */
  read(end: number): RunEnd {
    const cands = this.cands;
    while (this.ci < cands.length && (cands[this.ci] as number) < end) {
      const room = this.buf.length - this.used;
      if (room < HEADER + READ_AHEAD) {
        if (this.used > 0) return RunEnd.Full;
        this.buf = Buffer.allocUnsafe(Math.max(this.buf.length * 2, HEADER + READ_AHEAD));
        continue;
      }
      // One read for a run of close candidates that fits, its last record included (read ahead).
      const first = cands[this.ci] as number;
      let last = this.ci;
      for (;;) {
        const next = cands[last + 1];
        if (
          next === undefined ||
          next >= end ||
          next - (cands[last] as number) > this.gap ||
          next - first + READ_AHEAD > room
        ) {
          break;
        }
        last++;
      }
      const span = Math.min(room, (cands[last] as number) - first + READ_AHEAD);
      const got = this.source.readAt(this.buf, this.used, span, first);
      this.bytesRead += got;
      const status = this.parse(first, got, last);
      if (status !== RunEnd.Range) return status;
    }
    return RunEnd.Range;
  }

  /**
   * Parses candidates `ci..last`, read as `got` bytes at file offset `first` into the batch at
   * `used`. A record longer than what was read is completed with one more read when the batch
   * has room; otherwise the batch ends before it.
   */
  private parse(first: number, got: number, last: number): RunEnd {
    const buf = this.buf;
    const base = this.used;
    const le = this.layout.littleEndian;
    let have = got;
    let status: RunEnd = RunEnd.Range;
    let end = base;
    while (this.ci <= last) {
      const offset = this.cands[this.ci] as number;
      const at = base + (offset - first);
      if (at + HEADER > base + have) {
        status = RunEnd.Truncated;
        break;
      }
      const caplen = le ? buf.readUInt32LE(at + 8) : buf.readUInt32BE(at + 8);
      if (caplen > MAX_CAPLEN) {
        throw new PcapFormatError(
          this.layout.name,
          offset,
          `caplen ${caplen} exceeds the maximum of ${MAX_CAPLEN}`,
        );
      }
      const total = HEADER + caplen;
      if (at + total > base + have) {
        if (at + total > buf.length) {
          // No room: end the batch before this record, which starts the next one; a record
          // larger than the whole buffer gets a larger one and is read again.
          status = at === 0 ? this.grow(total) : RunEnd.Full;
          break;
        }
        const more = this.source.readAt(buf, base + have, at + total - (base + have), first + have);
        this.bytesRead += more;
        have += more;
        if (at + total > base + have) {
          status = RunEnd.Truncated;
          break;
        }
      }
      this.fill(at, offset, caplen, total);
      end = at + total;
      this.ci++;
      if (!this.accept(this.rec)) {
        status = RunEnd.Stopped;
        break;
      }
    }
    this.used = Math.max(end, this.used);
    return status;
  }

  /** A record larger than the whole (empty) batch: a bigger buffer, and the read is redone. */
  private grow(total: number): RunEnd {
    this.buf = Buffer.allocUnsafe(Math.max(this.buf.length * 2, total + READ_AHEAD));
    return RunEnd.Range;
  }

  /** Points the reused record at the candidate at batch index `at` (header already checked). */
  private fill(at: number, offset: number, caplen: number, total: number): void {
    const buf = this.buf;
    const { littleEndian: le, nanosecond } = this.layout;
    let sec = le ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
    const frac = le ? buf.readUInt32LE(at + 4) : buf.readUInt32BE(at + 4);
    let nsec = nanosecond ? frac : frac * 1000;
    if (nsec >= 1_000_000_000) {
      // As the reader does: broken writers' fractions of a second or more are carried.
      const carry = Math.floor(nsec / 1_000_000_000);
      sec += carry;
      nsec -= carry * 1_000_000_000;
    }
    const rec = this.rec;
    rec.buf = buf;
    rec.dataOffset = at + HEADER;
    rec.caplen = caplen;
    rec.origLen = le ? buf.readUInt32LE(at + 12) : buf.readUInt32BE(at + 12);
    rec.tsSec = sec;
    rec.tsNsec = nsec;
    rec.linkType = this.layout.linkType;
    rec.interfaceId = 0;
    rec.fileOffset = offset;
    rec.recordLength = total;
  }
}
