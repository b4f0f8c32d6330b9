/**
 * Turns tcpdump's `-w -` output (one classic pcap stream) into ring files. The stream is cut only
 * between records, so rotation loses nothing and every file is a complete capture with the
 * stream's own header: timestamps, lengths and precision stay exactly as libpcap gave them.
 */
import { createWriteStream, openSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import type { Logger } from "pino";
import { MAX_SNAPLEN } from "./capture-config.js";
import { ringFileName } from "./ring-files.js";

const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;
/**
 * A file whose time is up closes this long after its deadline even without new packets. libpcap
 * hands packets over in blocks at least once a second (tcpdump's timeout), so later ones are rare.
 */
const IDLE_GRACE_S = 2;

/** Options of {@link createRingWriter}. */
export interface RingWriterOptions {
  readonly dir: string;
  readonly prefix: string;
  readonly rotateBytes: number;
  readonly rotateSeconds: number;
  /** Sequence number of the first file written. */
  readonly firstSeq: number;
  readonly log: Logger;
  /** Called once a file is complete on disk (closed). */
  readonly onClosed: (path: string) => void;
  /** Called when a file cannot be written (the disk is full, the directory is gone). */
  readonly onWriteError: (error: AppError) => void;
}

/** Counters of a ring writer since it was created. */
export interface RingWriterCounters {
  packets: number;
  bytes: number;
  files: number;
  /** Packets that could not be written (write errors). */
  lost: number;
}

/** The ring writer of one capture. */
export interface RingWriter {
  /** Feeds stdout bytes; false when the file asks the producer to wait for {@link drained}. */
  push(chunk: Buffer): boolean;
  /** Resolves once the current file has taken what it buffered. */
  drained(): Promise<void>;
  /** The producer ended (tcpdump exited): closes the file; the next bytes start a new stream. */
  endStream(): Promise<void>;
  /** Closes the current file when its time is up and no packet came to do it. */
  tick(nowMs: number): void;
  /** Files being written or still closing: never candidates for deletion. */
  readonly openPaths: ReadonlySet<string>;
  readonly counters: Readonly<RingWriterCounters>;
}

interface OpenFile {
  readonly path: string;
  readonly stream: WriteStream;
  bytes: number;
  packets: number;
  deadline: number;
  failed: boolean;
}

/** Creates the writer of one ring; it opens its first file when the first packet arrives. */
export function createRingWriter(options: RingWriterOptions): RingWriter {
  const counters: RingWriterCounters = { packets: 0, bytes: 0, files: 0, lost: 0 };
  const openPaths = new Set<string>();
  const closing = new Set<Promise<void>>();
  let seq = options.firstSeq;
  let header: Buffer | undefined;
  let littleEndian = true;
  let fractionPerSecond = 1e6;
  let carry: Buffer | undefined;
  let current: OpenFile | undefined;
  let retryOpenAt = 0;

  const open = (tsSec: number, deadline: number): OpenFile | undefined => {
    for (;;) {
      const path = join(options.dir, ringFileName(options.prefix, tsSec, seq));
      seq += 1;
      let fd: number;
      try {
        // 'wx': never overwrite, whatever is in the directory.
        fd = openSync(path, "wx", 0o640);
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === "EEXIST") continue;
        options.onWriteError(new AppError(ErrorCode.StorageIo, `cannot create ${path}`, { cause }));
        return undefined;
      }
      const stream = createWriteStream(path, { fd, highWaterMark: 1024 * 1024 });
      const file: OpenFile = { path, stream, bytes: GLOBAL_HEADER, packets: 0, deadline, failed: false };
      stream.on("error", (cause) => {
        if (file.failed) return;
        file.failed = true;
        options.onWriteError(new AppError(ErrorCode.StorageIo, `cannot write ${path}`, { cause }));
        if (current === file) current = undefined;
      });
      stream.write(header);
      openPaths.add(path);
      counters.files += 1;
      return file;
    }
  };

  const close = (file: OpenFile): void => {
    if (current === file) current = undefined;
    const done = new Promise<void>((resolveClose) => {
      file.stream.end(() => resolveClose());
      file.stream.once("close", () => resolveClose());
    }).then(() => {
      openPaths.delete(file.path);
      closing.delete(done);
      if (!file.failed) options.onClosed(file.path);
    });
    closing.add(done);
  };

  const readHeader = (buf: Buffer): void => {
    const magic = buf.readUInt32LE(0);
    if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) littleEndian = true;
    else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) littleEndian = false;
    else
      throw new AppError(ErrorCode.Internal, `tcpdump wrote no pcap header (magic 0x${magic.toString(16)})`);
    fractionPerSecond = magic === 0xa1b23c4d || magic === 0x4d3cb2a1 ? 1e9 : 1e6;
    header = Buffer.from(buf.subarray(0, GLOBAL_HEADER));
  };

  /** Writes records [from, to) of `buf` to the current file. */
  const flush = (buf: Buffer, from: number, to: number): boolean => {
    if (from === to || current === undefined || current.failed) return true;
    return current.stream.write(buf.subarray(from, to));
  };

  const push = (chunk: Buffer): boolean => {
    let buf = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
    carry = undefined;
    if (header === undefined) {
      if (buf.length < GLOBAL_HEADER) {
        carry = buf;
        return true;
      }
      readHeader(buf);
      buf = buf.subarray(GLOBAL_HEADER);
    }
    let off = 0;
    let run = 0;
    let ok = true;
    const le = littleEndian;
    while (off + RECORD_HEADER <= buf.length) {
      const caplen = le ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8);
      if (caplen > MAX_SNAPLEN)
        throw new AppError(ErrorCode.Internal, `tcpdump wrote a record of ${caplen} bytes`);
      const length = RECORD_HEADER + caplen;
      if (off + length > buf.length) break;
      const sec = le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
      const frac = le ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off + 4);
      const ts = sec + frac / fractionPerSecond;
      const file = current;
      if (
        file !== undefined &&
        file.packets > 0 &&
        (ts >= file.deadline || file.bytes + length > options.rotateBytes)
      ) {
        ok = flush(buf, run, off) && ok;
        close(file);
      }
      if (current === undefined && ts >= retryOpenAt) {
        current = open(sec, ts + options.rotateSeconds);
        // A directory that refuses files is retried a second later, not once per packet.
        if (current === undefined) retryOpenAt = ts + 1;
        run = off;
      }
      if (current === undefined) {
        counters.lost += 1;
        run = off + length;
      } else {
        current.bytes += length;
        current.packets += 1;
        counters.packets += 1;
        counters.bytes += length;
      }
      off += length;
    }
    ok = flush(buf, run, off) && ok;
    if (off < buf.length) carry = Buffer.from(buf.subarray(off));
    return ok;
  };

  return {
    push,
    drained() {
      const stream = current?.stream;
      if (stream === undefined || !stream.writableNeedDrain) return Promise.resolve();
      return new Promise((resolveDrain) => {
        const done = () => {
          stream.off("drain", done);
          stream.off("close", done);
          resolveDrain();
        };
        stream.once("drain", done);
        stream.once("close", done);
      });
    },
    async endStream() {
      if (carry !== undefined && header !== undefined) {
        options.log.warn(
          { bytes: carry.length },
          "capture stream ended inside a packet record; the partial record is dropped",
        );
      }
      carry = undefined;
      header = undefined;
      if (current !== undefined) close(current);
      await Promise.all([...closing]);
    },
    tick(nowMs) {
      if (current !== undefined && nowMs / 1000 >= current.deadline + IDLE_GRACE_S) close(current);
    },
    openPaths,
    counters,
  };
}
