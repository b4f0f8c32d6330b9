/**
 * k-way merge of captures by timestamp, streaming: each input is read a chunk at a time (see
 * `merge-input.ts`), a {@link TimeHeap} picks the input whose next packet is earliest, and that
 * input emits packets until its next one would pass the runner-up's: with inputs covering
 * different time ranges a whole batch goes out as one copy, with interleaved inputs it costs a
 * heap step per run. Memory is bounded by the read buffers, whatever the number of inputs.
 */
import type { CaptureReader, WriteTarget } from "../format/index.js";
import { PcapFormatError } from "../types.js";
import { MergeInput } from "./merge-input.js";
import { createMergeWriter, inputRules, type MergeWriter, openInput, planOutput } from "./merge-io.js";
import { MergeRun, type PacketObserver, throwIfAborted } from "./merge-run.js";
import { type TieBreak, TimeHeap } from "./time-heap.js";

/** An input: a capture path (opened and closed by the merge) or a reader the caller owns. */
export type MergeSource = string | CaptureReader;

/** Options of {@link mergeCaptures}; every field is optional. */
export interface MergeOptions {
  /** Stop before the output file would exceed this many bytes (headers included). Default: no cap. */
  maxBytes: number;
  /** Stop after this many packets. Default: no cap. */
  maxPackets: number;
  /** Cancels the merge: it then rejects with a `cancelled` AppError. */
  signal: AbortSignal;
  /**
   * Called with every packet just before it is written, and the index of its input. The record
   * is one reused cursor over the input's buffer: read it, copy what you keep, do not modify it.
   */
  onPacket: PacketObserver;
  /**
   * Order of packets with equal timestamps from different inputs. "later-input" (default) is
   * what mergecap does: its scan keeps the last of equal candidates.
   */
  tieBreak: TieBreak;
  /** Cut records to this many bytes, like `mergecap -s`. Default: keep records whole. */
  snaplen: number;
  /**
   * Read buffer budget for all inputs together. Each file gets an equal share, at least 32 KiB
   * (so the budget is exceeded beyond 2048 inputs), at most 1 MiB and no more than the file.
   * Larger buffers are slower: what a merge touches then no longer fits the CPU caches.
   * Inputs given as readers keep their own buffers. Default 64 MiB.
   */
  readBufferBytes: number;
  /**
   * Read input files with `readSync` on the calling thread instead of the thread pool: faster
   * (the pool is left to the output), but a cold disk then blocks the event loop during each
   * read. For CLIs and batch jobs; see `merge-io.ts`. Default false.
   */
  syncReads: boolean;
  /** Output chunk size (at least 64 KiB). Default 1 MiB, cache-sized too. */
  writeChunkSize: number;
  /** Link type of the (empty) output when no input can be read. Default Ethernet. */
  emptyLinkType: number;
}

/** An input the merge ended early. */
export interface MergeSkip {
  /** Index of the input in the list given. */
  input: number;
  /**
   * Why: the input is not a capture, is corrupt at some offset, ends in an incomplete record,
   * or holds a packet the output format cannot (another link type in classic output). Packets
   * before the problem were merged.
   */
  error: PcapFormatError;
}

/** What {@link mergeCaptures} did. */
export interface MergeResult {
  /** Packets written. */
  packets: number;
  /** Bytes written: the size of the output file. */
  bytes: number;
  /** True when `maxBytes` or `maxPackets` stopped the merge before the inputs ended. */
  truncated: boolean;
  /** Packets written from each input, by input index. */
  inputs: number[];
  /** Inputs ended by a format problem, in input order. */
  skipped: MergeSkip[];
  /** Output format: classic pcap, or pcapng when the inputs' link types differ. */
  format: "pcap" | "pcapng";
  /** True when the (classic) output has nanosecond timestamps; pcapng output always has. */
  nanosecond: boolean;
}

const MIN_READ_CHUNK = 32 * 1024;
const MAX_READ_CHUNK = 1024 * 1024;

/**
 * Merges `inputs` by timestamp into `output` (a path, file descriptor, Writable or ByteSink).
 * Ties go as in mergecap (see {@link MergeOptions.tieBreak}). A format problem in one input
 * ends that input and is reported in {@link MergeResult.skipped}; other failures (a missing
 * file, an I/O error) reject. Readers given by the caller are read from their position and left
 * open; files the merge opens are closed.
 */
export async function mergeCaptures(
  inputs: readonly MergeSource[],
  output: WriteTarget,
  options: Partial<MergeOptions> = {},
): Promise<MergeResult> {
  const signal = options.signal;
  throwIfAborted(signal);
  const budget = options.readBufferBytes ?? 64 * 1024 * 1024;
  const sync = options.syncReads ?? false;
  const share = Math.floor(budget / Math.max(1, inputs.length));
  const chunkSize = clamp(share, MIN_READ_CHUNK, MAX_READ_CHUNK);
  const readers: (CaptureReader | null)[] = [];
  const skipped: MergeSkip[] = [];
  const settled = await Promise.allSettled(
    inputs.map((source) => (typeof source === "string" ? openInput(source, chunkSize, sync) : source)),
  );
  const owned = inputs.map((source) => typeof source === "string");
  let failure: unknown;
  settled.forEach((result, input) => {
    if (result.status === "fulfilled") readers.push(result.value);
    else {
      readers.push(null);
      if (result.reason instanceof PcapFormatError) skipped.push({ input, error: result.reason });
      else failure ??= result.reason;
    }
  });
  const merging: MergeInput[] = [];
  let writer: MergeWriter | undefined;
  try {
    if (failure !== undefined) throw failure;
    const plan = planOutput(
      readers.filter((r) => r !== null),
      options.snaplen,
      options.emptyLinkType,
    );
    readers.forEach((reader, i) => {
      if (reader !== null)
        merging.push(new MergeInput(i, reader, owned[i] === true, inputRules(plan, reader)));
    });
    writer = await createMergeWriter(output, plan, options.writeChunkSize ?? 1024 * 1024);
    const heap = new TimeHeap(inputs.length, options.tieBreak ?? "later-input");
    const loaded = await Promise.all(merging.map((input) => input.refill()));
    merging.forEach((input, i) => {
      if (loaded[i] === true) heap.push(input.index, input.meta[0] as number, input.meta[1] as number);
    });
    const run = new MergeRun(heap, merging, writer, plan, {
      maxBytes: options.maxBytes ?? Number.POSITIVE_INFINITY,
      maxPackets: options.maxPackets ?? Number.POSITIVE_INFINITY,
      onPacket: options.onPacket ?? null,
      signal: signal ?? null,
    });
    const truncated = await run.run();
    await writer.close();
    const counts = new Array<number>(inputs.length).fill(0);
    for (const input of merging) {
      counts[input.index] = input.packets;
      // An error found after the cap stopped the merge did not affect the output.
      if (input.error !== null && !(truncated && input.pos < input.count)) {
        skipped.push({ input: input.index, error: input.error });
      }
    }
    skipped.sort((a, b) => a.input - b.input);
    return {
      packets: run.packets,
      bytes: writer.bytesWritten,
      truncated,
      inputs: counts,
      skipped,
      format: plan.format,
      nanosecond: plan.nanosecond,
    };
  } finally {
    // On failure, release everything; a second error must not hide the first.
    await writer?.close().catch(() => undefined);
    await Promise.all(
      readers.map((reader, i) => (reader !== null && owned[i] === true ? reader.close() : undefined)),
    );
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
