/**
 * The output core every capture writer shares (the format writers, and through them the merge
 * and the slice): bytes are gathered in large chunks, and a full chunk goes whole to its
 * {@link ChunkDestination}, so files and streams see few, large writes.
 *
 * Chunks come from a small pool. A destination that is done with a chunk once written (a file,
 * a socket, a sink that lends: the agent's slice worker, whose chunks come back from the main
 * thread as new Buffers over the same memory) gives it back and it is filled again; one that
 * keeps chunks (memory, a caller's sink) gets a fresh one each time. Reuse matters: fresh 4 MiB chunks cost four times the copy
 * time of recycled ones (first-touch page faults, and the GC pressure of external memory, which
 * V8 collects only every ~64 MB: a multi-gigabyte slice would otherwise leave the process
 * 60-100 MB above its live size), and with a few chunks in flight the kernel's copy runs on
 * another core while the producer goes on. Writing chunks at their own offsets, several at once,
 * was measured too: no faster, as the kernel serialises writes to one file anyway.
 *
 * Backpressure: {@link ChunkedOutput.needsDrain} turns true when {@link IN_FLIGHT} chunks are
 * out, or when a keeping destination says it is full; the producer then awaits `drain()`. After
 * a failed write it is true at once, and `drain()` throws: a producer stops at the first failure.
 * Producers write into {@link ChunkedOutput.buf} at {@link ChunkedOutput.used} directly (the
 * fields are public so packet loops pay no accessor calls), after {@link ChunkedOutput.reserve}.
 * Header fields go through {@link ChunkedOutput.view}: `DataView` stores compile to single
 * machine stores, where `Buffer.writeUInt32LE` is a range-checked call that also eats into the
 * optimizer's inlining budget of the caller's packet loop.
 *
 * {@link BufferedWriter} is the base of the format writers on top of it: the write/drain/close
 * loop over {@link PacketRecord}s, so the merge and the slice drive either format through one type.
 */
import type { PacketRecord } from "../types.js";
import { type ChunkDestination, openDestination, type WriteTarget } from "./sink.js";

/** Default output chunk: 1 MiB keeps sink writes few and large, and stays cache-sized. */
export const DEFAULT_WRITE_CHUNK = 1024 * 1024;
/** Smallest chunk size accepted. */
export const MIN_WRITE_CHUNK = 64 * 1024;
/** Chunks sent and not yet given back before the producer is asked to wait. */
export const IN_FLIGHT = 3;

/** Options of {@link ChunkedOutput.open}. */
export interface ChunkedOutputOptions {
  /** Chunk size in bytes (at least {@link MIN_WRITE_CHUNK}). Default {@link DEFAULT_WRITE_CHUNK}. */
  chunkSize: number;
  /** For a Writable target: end it on close. Default true. */
  end: boolean;
  /**
   * For a path target that is a regular file: write each chunk at its offset as soon as it is
   * full, several at once, instead of one after the other (see `openDestination`). For producers
   * that keep the event loop busy (synchronous reads), where a chained write only starts once the
   * loop runs. Default false.
   */
  concurrentWrites: boolean;
}

/** A chunked, ordered output with reused chunks and backpressure; see the module comment. */
export class ChunkedOutput {
  /** The chunk being filled. */
  buf: Buffer;
  /** A DataView over {@link ChunkedOutput.buf}, for header fields. */
  view: DataView;
  /** Bytes used in {@link ChunkedOutput.buf}. */
  used = 0;
  private readonly dest: ChunkDestination;
  private readonly chunkSize: number;
  private readonly free: Buffer[] = [];
  private inFlight = 0;
  private flushed = 0;
  private failure: unknown = null;
  private closed = false;
  private wake: (() => void) | null = null;
  private woken: Promise<void> | null = null;

  /** Prefer {@link ChunkedOutput.open}: an output over `dest` with chunks of `chunkSize` bytes. */
  constructor(dest: ChunkDestination, chunkSize: number = DEFAULT_WRITE_CHUNK) {
    this.dest = dest;
    this.chunkSize = Math.max(MIN_WRITE_CHUNK, chunkSize);
    this.buf = Buffer.allocUnsafe(this.chunkSize);
    this.view = viewOf(this.buf);
  }

  /** Opens `target` (a path is created or truncated) as an output. */
  static async open(
    target: WriteTarget,
    options: Partial<ChunkedOutputOptions> = {},
  ): Promise<ChunkedOutput> {
    const dest = await openDestination(target, options.end ?? true, options.concurrentWrites ?? false);
    return new ChunkedOutput(dest, options.chunkSize);
  }

  /** Name of the destination, for errors. */
  get name(): string {
    return this.dest.name;
  }

  /** Bytes written so far, including those still buffered: the file offset of the next byte. */
  get bytesWritten(): number {
    return this.flushed + this.used;
  }

  /** True when the producer should `await drain()` before writing more (which throws after a failure). */
  get needsDrain(): boolean {
    return this.inFlight >= IN_FLIGHT || this.failure !== null || this.dest.full;
  }

  /** Makes room for `bytes` contiguous bytes at {@link ChunkedOutput.used}, sending the full chunk first. */
  reserve(bytes: number): void {
    if (this.used + bytes <= this.buf.length) return;
    this.handOver();
    // A block larger than a chunk gets a chunk of its own, which is not pooled.
    if (bytes > this.buf.length) {
      this.buf = Buffer.allocUnsafe(bytes);
      this.view = viewOf(this.buf);
    }
  }

  /**
   * Appends `src[start, end)` as it is: the fast path for runs of source records that are
   * already in output form. The bytes may span chunks (the output is a byte stream).
   */
  append(src: Buffer, start: number, end: number): void {
    let at = start;
    while (at < end) {
      if (this.used === this.buf.length) this.handOver();
      const n = Math.min(this.buf.length - this.used, end - at);
      src.copy(this.buf, this.used, at, at + n);
      this.used += n;
      at += n;
    }
  }

  /** Resolves when the producer may write again; rejects with the first write failure. */
  async drain(): Promise<void> {
    for (;;) {
      if (this.failure !== null) throw this.failure;
      if (this.inFlight >= IN_FLIGHT) await this.settled();
      else if (this.dest.full) await this.dest.drain();
      else return;
    }
  }

  /** Sends what is buffered and waits until the destination has it all. */
  async flush(): Promise<void> {
    this.handOver();
    while (this.inFlight > 0) await this.settled();
    await this.drain();
  }

  /** Sends what is buffered, waits for every write, and releases the destination. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handOver();
    while (this.inFlight > 0) await this.settled();
    try {
      await this.dest.close();
    } catch (error) {
      this.failure ??= error;
    }
    if (this.failure !== null) throw this.failure;
  }

  /** Sends the chunk being filled and continues in a pooled (or new) one. */
  private handOver(): void {
    const length = this.used;
    if (length === 0) return;
    const chunk = this.buf;
    this.flushed += length;
    this.used = 0;
    this.inFlight += 1;
    const reuse = this.dest.reuses && chunk.length === this.chunkSize;
    this.dest.send(chunk, length).then(
      (back) =>
        this.settle(reuse ? (back instanceof Buffer && back.length === this.chunkSize ? back : chunk) : null),
      (error: unknown) => {
        this.failure ??= error;
        this.settle(null);
      },
    );
    this.buf = this.free.pop() ?? Buffer.allocUnsafe(this.chunkSize);
    this.view = viewOf(this.buf);
  }

  private settle(chunk: Buffer | null): void {
    this.inFlight -= 1;
    if (chunk !== null) this.free.push(chunk);
    const wake = this.wake;
    this.wake = null;
    this.woken = null;
    wake?.();
  }

  /** Resolves when the next chunk in flight settles. */
  private settled(): Promise<void> {
    this.woken ??= new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    return this.woken;
  }
}

function viewOf(buf: Buffer): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.length);
}

/**
 * Base of the capture writers. The usual loop is:
 * `if (!writer.write(rec)) await writer.drain();` then `await writer.close()`.
 */
export abstract class BufferedWriter {
  /** Where the bytes go. */
  protected readonly out: ChunkedOutput;

  /** For subclasses: writes through `out`. */
  protected constructor(out: ChunkedOutput) {
    this.out = out;
  }

  /** Bytes written so far, including those still buffered: the file offset of the next record. */
  get bytesWritten(): number {
    return this.out.bytesWritten;
  }

  /** True when the caller should `await drain()` before writing more. */
  get needsDrain(): boolean {
    return this.out.needsDrain;
  }

  /** Waits until the destination has room again (stream backpressure, file writes in flight). */
  drain(): Promise<void> {
    return this.out.drain();
  }

  /** Hands the buffered bytes to the destination and waits for them to be accepted. */
  flush(): Promise<void> {
    return this.out.flush();
  }

  /** Flushes and closes the destination. Idempotent. */
  close(): Promise<void> {
    return this.out.close();
  }

  /**
   * Appends a record (copied: the caller may reuse it at once). Data beyond the snaplen is cut,
   * the original length is kept. Returns false when the caller should `await drain()` first.
   * Throws a {@link PcapFormatError} for a record the file cannot hold.
   */
  abstract write(rec: PacketRecord): boolean;

  /** Bytes a record of `caplen` captured bytes takes in this file (after the snaplen cut). */
  abstract recordBytes(caplen: number): number;
}
