/**
 * What the slice merge consumes: per file, batches of matching packets described by numbers in
 * a Float64Array, their bytes in one Buffer. For a file read here the Buffer is the reader's own
 * chunk (no copy: a batch is one `readBatch` call, and the reader is not called again until the
 * merge has written the whole batch). Other producers (a remote sensor's stream) can implement
 * {@link BatchSource} with their own buffers.
 */
import type { CaptureReader } from "../format/capture-reader.js";
import type { PacketRecord } from "../types.js";
import type { RecordScan } from "./record-scan.js";

/**
 * Numbers kept per packet, at `meta[i * META_STRIDE + field]`:
 * 0 tsSec, 1 tsNsec, 2 dataOffset (in `buf`), 3 caplen, 4 origLen, 5 linkType.
 */
export const META_STRIDE = 6;

/** A file's stream of matching packets, a batch at a time. */
export interface BatchSource {
  /** Position of the file in merge order (its heap input and tie rank). */
  readonly order: number;
  /** The file. */
  readonly path: string;
  /** Bytes of the current batch. */
  readonly buf: Buffer;
  /** Fields of the current batch's packets; see {@link META_STRIDE}. */
  readonly meta: Float64Array;
  /** Index of the next packet of the batch to merge; the merge advances it. */
  pos: number;
  /** Packets in the batch. */
  readonly count: number;
  /** Why the file ended early, or null. Valid once {@link BatchSource.refill} resolved false. */
  readonly error: string | null;
  /** Capture bytes gone through so far. */
  readonly bytesRead: number;
  /** Loads the next batch (the current one must be fully merged); false at the end of the file. */
  refill(): Promise<boolean>;
  /** Releases the file; safe to call twice. */
  close(): Promise<void>;
}

const EMPTY = Buffer.alloc(0);

/** A {@link BatchSource} scanning a local capture file. */
export class LocalSource implements BatchSource {
  readonly order: number;
  readonly path: string;
  buf: Buffer = EMPTY;
  meta = new Float64Array(256 * META_STRIDE);
  pos = 0;
  count = 0;
  private readonly reader: CaptureReader;
  private readonly scan: RecordScan;
  private closed = false;

  /** Takes ownership of `reader`, scanned by `scan`. */
  constructor(order: number, path: string, reader: CaptureReader, scan: RecordScan) {
    this.order = order;
    this.path = path;
    this.reader = reader;
    this.scan = scan;
    scan.onMatch = (rec) => this.add(rec);
  }

  get error(): string | null {
    return this.scan.error;
  }

  get bytesRead(): number {
    return this.scan.bytesRead;
  }

  async refill(): Promise<boolean> {
    this.pos = 0;
    this.count = 0;
    while (this.count === 0 && !this.scan.finished) await this.scan.step();
    if (this.count === 0) await this.close();
    return this.count > 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The merge has written every match of the last batch: its buffer can serve another file.
    this.buf = EMPTY;
    this.scan.release();
    await this.reader.close();
  }

  /** Keeps the fields of one match; its bytes stay in the reader's chunk. */
  private add(rec: PacketRecord): boolean {
    let m = this.meta;
    const o = this.count * META_STRIDE;
    if (o + META_STRIDE > m.length) {
      const grown = new Float64Array(m.length * 2);
      grown.set(m);
      this.meta = grown;
      m = grown;
    }
    m[o] = rec.tsSec;
    m[o + 1] = rec.tsNsec;
    m[o + 2] = rec.dataOffset;
    m[o + 3] = rec.caplen;
    m[o + 4] = rec.origLen;
    m[o + 5] = rec.linkType;
    this.buf = rec.buf;
    this.count += 1;
    return true;
  }
}
