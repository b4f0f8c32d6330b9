/**
 * The merge's file I/O: opening its inputs, and choosing and opening its output.
 *
 * Inputs are opened in one of two read modes, measured on 3-input merges to tmpfs:
 * - async (default): the format layer's reader, reads on the libuv thread pool. The event loop
 *   never waits on a disk, which is what a server (the collector) needs.
 * - sync: `readSync` on the calling thread. From the page cache a 1 MiB read takes ~0.1 ms,
 *   and the thread pool is left to the output's writes: 0.41 s instead of 0.47 s (interleaved
 *   inputs, 900 MB), 0.19 s instead of 0.21 s (consecutive files, 400 MB), medians of 9
 *   alternating runs. For CLIs and batch work: a cold disk blocks the event loop during a read.
 * A read-ahead source (the next block read into a spare buffer while the merge works) was
 * measured too: no faster than plain async reads (0.472 s vs 0.479 s, 0.208 s vs 0.207 s) for
 * twice the buffers, so it is not used.
 *
 * The output is classic pcap when every input has the same link type (nanosecond when any
 * input is), pcapng with one interface per link type otherwise, written by the format layer's
 * writers (whose chunked output reuses its chunks for a file). Classic output has a raw path:
 * records of a classic little-endian input with the output's precision are already in output
 * form, so runs of them are copied from the input's chunk buffer in one `copy` instead of field
 * by field ({@link PcapWriter.writeRecords}).
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { stat } from "node:fs/promises";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import {
  type CaptureReader,
  CLASSIC_MAX_SEC,
  createPcapngWriter,
  createPcapWriter,
  openCapture,
  openSource,
  PCAPNG_MAX_SEC,
  type PcapngWriter,
  type PcapWriter,
  type ReadSource,
  type WriteTarget,
} from "../format/index.js";
import { LinkType, MAX_CAPLEN } from "../types.js";
import type { InputRules } from "./merge-input.js";

/** Smallest read buffer: a small file is still read in one go. */
const MIN_CHUNK = 4096;

/**
 * Opens `path` with a read buffer of `chunkSize` bytes, or the file's size when smaller: with
 * hundreds of small inputs, budget-sized buffers would mostly hold nothing. (A file that grows
 * meanwhile is still read whole: the reader enlarges its buffer for a record that needs it.)
 */
export async function openInput(path: string, chunkSize: number, sync: boolean): Promise<CaptureReader> {
  if (sync) {
    const fd = openFd(path);
    const size = statSize(() => fstatSync(fd).size, chunkSize);
    return openSource(syncFileSource(fd, path), { chunkSize: chunkFor(size, chunkSize) });
  }
  const size = await stat(path).then(
    (s) => s.size,
    () => chunkSize, // openCapture reports the problem in the engine's terms
  );
  return openCapture(path, { chunkSize: chunkFor(size, chunkSize) });
}

function chunkFor(size: number, chunkSize: number): number {
  return Math.max(MIN_CHUNK, Math.min(chunkSize, size));
}

function statSize(get: () => number, fallback: number): number {
  try {
    return get();
  } catch {
    return fallback;
  }
}

/** The error `openCapture` gives for a file it cannot open. */
function openError(path: string, cause: unknown): AppError {
  const missing = (cause as NodeJS.ErrnoException).code === "ENOENT";
  return new AppError(missing ? ErrorCode.NotFound : ErrorCode.StorageIo, `${path}: cannot open`, { cause });
}

function openFd(path: string): number {
  try {
    return openSync(path, "r");
  } catch (cause) {
    throw openError(path, cause);
  }
}

/** A {@link ReadSource} reading `fd` with `readSync`; errors as `openCapture` reports them. */
function syncFileSource(fd: number, path: string): ReadSource {
  return {
    name: path,
    read(target, offset, length, position) {
      try {
        return Promise.resolve(readSync(fd, target, offset, length, position));
      } catch (cause) {
        return Promise.reject(
          new AppError(ErrorCode.StorageIo, `${path}: read failed at offset ${position}`, { cause }),
        );
      }
    },
    close() {
      closeSync(fd);
      return Promise.resolve();
    },
  };
}

/** The output a set of inputs calls for. */
export interface OutputPlan {
  /** "pcap" when every input has one and the same link type, else "pcapng". */
  readonly format: "pcap" | "pcapng";
  /** Link types of the inputs, in order of first appearance (one for classic output). */
  readonly linkTypes: readonly number[];
  /** Nanosecond classic output (pcapng output is always nanosecond). */
  readonly nanosecond: boolean;
  /** Snapshot length the header advertises: the inputs' largest, as mergecap writes. */
  readonly headerSnaplen: number;
  /** Records are cut to this many bytes: the caller's `snaplen`, else never (MAX_CAPLEN). */
  readonly cut: number;
}

/**
 * Chooses the output for `readers` (the inputs that opened). `snaplen` cuts records like
 * `mergecap -s`; `emptyLinkType` is the link type of a merge with no readable input.
 */
export function planOutput(
  readers: readonly CaptureReader[],
  snaplen: number | undefined,
  emptyLinkType: number = LinkType.ETHERNET,
): OutputPlan {
  const linkTypes: number[] = [];
  let nanosecond = false;
  let largest = 0;
  for (const reader of readers) {
    for (const type of reader.linkTypes) if (!linkTypes.includes(type)) linkTypes.push(type);
    if (reader.nanosecond) nanosecond = true;
    largest = Math.max(largest, reader.snaplen === 0 ? MAX_CAPLEN : Math.min(reader.snaplen, MAX_CAPLEN));
  }
  const cut = snaplen === undefined ? MAX_CAPLEN : Math.max(1, Math.min(snaplen, MAX_CAPLEN));
  const headerSnaplen = snaplen === undefined ? largest || MAX_CAPLEN : cut;
  if (linkTypes.length === 0) linkTypes.push(emptyLinkType);
  const format = linkTypes.length === 1 ? "pcap" : "pcapng";
  return { format, linkTypes, nanosecond, headerSnaplen, cut };
}

/** What each input must satisfy for this output (see {@link InputRules}). */
export function inputRules(plan: OutputPlan, reader: CaptureReader): InputRules {
  const classic = plan.format === "pcap";
  return {
    linkType: classic ? (plan.linkTypes[0] as number) : -1,
    maxSec: classic ? CLASSIC_MAX_SEC : PCAPNG_MAX_SEC,
    rawCopy:
      classic && reader.format === "pcap" && reader.littleEndian && reader.nanosecond === plan.nanosecond,
    snaplen: plan.cut,
  };
}

/** The writer a merge uses: classic (with the raw path) or pcapng. */
export type MergeWriter = PcapWriter | PcapngWriter;

/** Opens `target` and writes the file header (and pcapng interfaces) for `plan`. */
export function createMergeWriter(
  target: WriteTarget,
  plan: OutputPlan,
  chunkSize: number,
): Promise<MergeWriter> {
  if (plan.format === "pcap") {
    return createPcapWriter(target, {
      linkType: plan.linkTypes[0] as number,
      nanosecond: plan.nanosecond,
      snaplen: plan.headerSnaplen,
      cut: plan.cut,
      chunkSize,
    });
  }
  // Interface snaplen 0 means "not limited": records are only cut when the caller asked for it.
  const ifaceSnaplen = plan.cut === MAX_CAPLEN ? 0 : plan.cut;
  return createPcapngWriter(target, {
    snaplen: plan.cut,
    chunkSize,
    interfaces: plan.linkTypes.map((linkType) => ({ linkType, snaplen: ifaceSnaplen })),
  });
}
