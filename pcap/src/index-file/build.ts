/**
 * Building an index: one pass over the capture with the reader's batch loop, feeding each
 * record to the time blocks and (while the file is indexable) to the key extractor. The pass
 * allocates nothing per packet: the visitor is created once, keys go to typed-array tables.
 */
import { realpath, stat } from "node:fs/promises";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import type { CaptureReader } from "../format/capture-reader.js";
import { openCapture } from "../format/open.js";
import type { PacketRecord } from "../types.js";
import { CaptureIndex } from "./capture-index.js";
import { checkFreshness, fingerprint } from "./identity.js";
import { ANY_VLAN, type IndexData, type KeyFamilies } from "./index-data.js";
import { emptyFamily, finishFamily } from "./key-family.js";
import { extractKeys, type KeySink } from "./keys.js";
import { PostingTable } from "./posting-table.js";
import { BlockBuilder, timeSpan } from "./time-blocks.js";

/** Options of {@link buildIndex}. */
export interface BuildOptions {
  /**
   * An index of an earlier state of the same file. When the file only grew since, scanning
   * resumes at its indexed end and the result equals a full rebuild; otherwise it is ignored.
   */
  previous: CaptureIndex | undefined;
  /** Packets per time block (default 256; a previous index's value wins). */
  blockPackets: number;
  /** Keys in more than `packets / denseDivisor` packets are dense (default 8). */
  denseDivisor: number;
  /** Read size of the scan (default: the reader's). */
  chunkSize: number;
  /**
   * Sees every record the build indexes: an extension shows only the records after the previous
   * index's end. The agent computes its subnet traffic summaries here, so indexing and
   * summarising share one pass. The record is the reader's reused cursor: copy what you keep.
   *
   * A record may be seen twice in one build: when the file is replaced during the scan (a ring
   * rotating) or a key dense in `previous` turns sparse, the build starts over from the file's
   * start and shows every record again. Callers that count records guard with their own
   * high-water mark of file offsets.
   */
  onRecord: ((record: PacketRecord) => void) | undefined;
  /**
   * Cancels the build: checked before the scan and between read batches (one chunk each), it
   * rejects with a `cancelled` AppError carrying the signal's reason.
   */
  signal: AbortSignal | undefined;
}

/** Default packets per time block: 36 bytes per 256 packets keeps the time index negligible. */
export const DEFAULT_BLOCK_PACKETS = 256;
/** Default density divisor: a key in more than 1/8 of the packets narrows too little to store. */
export const DEFAULT_DENSE_DIVISOR = 8;

/**
 * Indexes the capture at `capturePath` up to its last complete record (a file being written
 * may end in a partial one). Rejects with the reader's `PcapFormatError` for a corrupt
 * capture and a `not_found` AppError for a missing one.
 */
export async function buildIndex(
  capturePath: string,
  options: Partial<BuildOptions> = {},
): Promise<CaptureIndex> {
  throwIfAborted(options.signal);
  let path: string;
  try {
    path = await realpath(capturePath);
  } catch (cause) {
    throw new AppError(ErrorCode.NotFound, `${capturePath}: cannot index a missing capture`, { cause });
  }
  const st = await stat(path, { bigint: true });
  let previous = options.previous;
  if (previous !== undefined) {
    const usable =
      previous.header.capturePath === path &&
      (options.denseDivisor ?? previous.header.denseDivisor) === previous.header.denseDivisor &&
      (options.blockPackets ?? previous.header.blockPackets) === previous.header.blockPackets;
    const freshness = usable ? await checkFreshness(previous.header, path, st) : "stale";
    if (freshness === "fresh") return previous;
    if (freshness === "stale") previous = undefined;
  }
  const scan = new Scan(
    previous?.header.blockPackets ?? options.blockPackets ?? DEFAULT_BLOCK_PACKETS,
    previous?.header.denseDivisor ?? options.denseDivisor ?? DEFAULT_DENSE_DIVISOR,
  );
  if (previous !== undefined) scan.seed(previous.toData());
  const size = Number(st.size);
  const reader = await openCapture(path, {
    end: size,
    ...(previous === undefined ? {} : { start: previous.header.indexedEnd }),
    ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
  });
  let indexedEnd: number;
  const dataStart = previous?.header.dataStart ?? reader.position;
  try {
    indexedEnd = await scan.run(reader, size, options.onRecord, options.signal);
  } finally {
    await reader.close();
  }
  const after = await stat(path, { bigint: true }).catch(() => undefined);
  if (after === undefined || after.ino !== st.ino || after.dev !== st.dev) {
    // Replaced while scanning (a ring rotating): what was read may be either file. Start over.
    return buildIndex(capturePath, options);
  }
  const families = scan.finishFamilies();
  if (families === undefined) {
    // A key dense in `previous` is sparse now: its early postings were never kept.
    return buildIndex(capturePath, {
      ...options,
      previous: undefined,
      blockPackets: scan.blockPackets,
      denseDivisor: scan.denseDivisor,
    });
  }
  const blocks = scan.blocks.finish();
  const data: IndexData = {
    header: {
      capturePath: path,
      size,
      mtimeNs: st.mtimeNs,
      ino: st.ino,
      dev: st.dev,
      format: reader.format,
      linkTypes: [...reader.linkTypes],
      packets: scan.packets,
      ...timeSpan(blocks),
      dataStart,
      indexedEnd,
      indexable: scan.indexable,
      blockPackets: scan.blockPackets,
      denseDivisor: scan.denseDivisor,
      ...(await fingerprint(path, indexedEnd)),
    },
    blocks,
    families,
  };
  return new CaptureIndex(data);
}

/** Rejects a cancelled build: the `cancelled` AppError keeps the signal's reason as cause. */
function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) {
    throw new AppError(ErrorCode.Cancelled, "indexing cancelled", { cause: signal.reason });
  }
}

/** Collects the keys of the packet being scanned into the five tables. */
class KeyCollector implements KeySink {
  /** File offset of the record being scanned. */
  offset = 0;
  readonly ip4Table = new PostingTable(1);
  readonly ip6Table = new PostingTable(4);
  readonly portTable = new PostingTable(1);
  readonly protoTable = new PostingTable(1);
  readonly vlanTable = new PostingTable(1);

  ip4(value: number): void {
    this.ip4Table.add1(value, this.offset);
  }
  ip6(buf: Uint8Array, at: number, words: number): void {
    this.ip6Table.add4(buf, at, words, this.offset);
  }
  port(value: number): void {
    this.portTable.add1(value, this.offset);
  }
  proto(value: number): void {
    this.protoTable.add1(value, this.offset);
  }
  vlan(id: number): void {
    if (id >= 0) this.vlanTable.add1(id, this.offset);
    this.vlanTable.add1(ANY_VLAN, this.offset);
  }
}

/** State of one scan: counters, time blocks and key tables. */
class Scan {
  packets = 0;
  indexable = true;
  readonly blocks: BlockBuilder;
  private readonly keys = new KeyCollector();

  constructor(
    readonly blockPackets: number,
    readonly denseDivisor: number,
  ) {
    this.blocks = new BlockBuilder(blockPackets);
  }

  seed(data: IndexData): void {
    this.packets = data.header.packets;
    this.indexable = data.header.indexable;
    this.blocks.seed(data.blocks);
    const k = this.keys;
    k.ip4Table.seed(data.families.ip4);
    k.ip6Table.seed(data.families.ip6);
    k.portTable.seed(data.families.port);
    k.protoTable.seed(data.families.proto);
    k.vlanTable.seed(data.families.vlan);
  }

  /** Scans records that end by `limit`; returns the offset up to which records were indexed. */
  async run(
    reader: CaptureReader,
    limit: number,
    onRecord: ((record: PacketRecord) => void) | undefined,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    let stopAt = -1;
    const keys = this.keys;
    const blocks = this.blocks;
    const visit = (rec: PacketRecord): boolean => {
      const offset = rec.fileOffset;
      // A record completed after the stat belongs to the next (incremental) build.
      if (offset + rec.recordLength > limit) {
        stopAt = offset;
        return false;
      }
      this.packets++;
      blocks.add(offset, rec.tsSec, rec.tsNsec);
      if (this.indexable) {
        keys.offset = offset;
        this.indexable = extractKeys(rec.buf, rec.dataOffset, rec.caplen, rec.linkType, keys);
      }
      if (onRecord !== undefined) onRecord(rec);
      return true;
    };
    // readBatch visits a whole buffered chunk per call: the abort check costs one test a chunk.
    while (stopAt < 0 && (await reader.readBatch(visit)) > 0) throwIfAborted(signal);
    return stopAt >= 0 ? stopAt : reader.position;
  }

  /** The finished families, or undefined when a full rebuild is needed (see finishFamily). */
  finishFamilies(): KeyFamilies | undefined {
    if (!this.indexable) {
      // Lookups answer "all" anyway: keeping keys would only cost space.
      return {
        ip4: emptyFamily(1),
        ip6: emptyFamily(4),
        port: emptyFamily(1),
        proto: emptyFamily(1),
        vlan: emptyFamily(1),
      };
    }
    const k = this.keys;
    const finish = (table: PostingTable) => finishFamily(table, this.packets, this.denseDivisor);
    const ip4 = finish(k.ip4Table);
    const ip6 = finish(k.ip6Table);
    const port = finish(k.portTable);
    const proto = finish(k.protoTable);
    const vlan = finish(k.vlanTable);
    if (
      ip4 === undefined ||
      ip6 === undefined ||
      port === undefined ||
      proto === undefined ||
      vlan === undefined
    ) {
      return undefined;
    }
    return { ip4, ip6, port, proto, vlan };
  }
}
