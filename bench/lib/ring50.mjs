// A large benchmark ring (default 50 GiB: 400 × 128 MiB) for the agent's idle benchmark, built
// from the cached 2.1 GB bench ring (ring.mjs) instead of the traffic generator: copy k of source
// file s becomes file k × 16 + s, its packets shifted by k whole ring spans (plus one second), so
// the files follow each other in time like one long capture. Only each record's `ts_sec` moves
// (whole seconds), so the records stay byte-identical otherwise and every copy's index is as
// large as its source's.
//
// Each source file is read once into one buffer; its record offsets are found once, then for
// each copy the seconds are moved forward in place and the buffer written out: 16 reads and N
// writes, no per-record allocation. Cached under .bench/ring50-<hash>/ with a meta.json written
// last (so a half-built ring is never reused), reused while every file is there with its size.
// The disk is shared: free space is checked first, and a ring that does not fit shrinks to the
// largest that does (the caller says so in its report).
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { basename, join } from "node:path";
import { BENCH_DIR, DEFAULT_RING, ensureRing } from "./ring.mjs";

/** Size of each file of the ring (as the source ring's files): GiB × 8 files. */
export const FILE_BYTES = DEFAULT_RING.fileBytes;
/**
 * Free disk a file needs: its 128 MiB (134 MB) plus ~12% for its index (~1.3 MB), the agent's
 * state and the other users of the shared disk. 400 files need 60 GB free.
 */
export const NEED_PER_FILE = 150e6;
/** Bump when the layout of the copies changes, so an old cached ring is not reused. */
const VERSION = 1;
/** Classic pcap magics as read little-endian: microsecond and nanosecond timestamps. */
const MAGIC_USEC = 0xa1b2c3d4;
const MAGIC_NSEC = 0xa1b23c4d;
const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;

/**
 * Offsets of every record of the little-endian classic pcap in `buf[0, size)`. Throws for any
 * other format (pcapng, big-endian) and for a truncated or padded file: the copy would be
 * wrong silently otherwise.
 */
export function recordOffsets(buf, size, path) {
  const magic = size >= GLOBAL_HEADER ? buf.readUInt32LE(0) : 0;
  if (magic !== MAGIC_USEC && magic !== MAGIC_NSEC) {
    throw new Error(`${path}: not a little-endian classic pcap (magic 0x${magic.toString(16)})`);
  }
  let offsets = new Uint32Array(1 << 18);
  let n = 0;
  let at = GLOBAL_HEADER;
  while (at + RECORD_HEADER <= size) {
    const next = at + RECORD_HEADER + buf.readUInt32LE(at + 8);
    if (next > size) break;
    if (n === offsets.length) {
      const grown = new Uint32Array(offsets.length * 2);
      grown.set(offsets);
      offsets = grown;
    }
    offsets[n++] = at;
    at = next;
  }
  if (at !== size) throw new Error(`${path}: ${size - at} bytes after the last whole record`);
  return offsets.subarray(0, n);
}

/** Adds `deltaSec` to the `ts_sec` of every record at `offsets` in `buf`, in place. */
export function shiftSeconds(buf, offsets, deltaSec) {
  for (let i = 0; i < offsets.length; i++) {
    const at = offsets[i];
    buf.writeUInt32LE(buf.readUInt32LE(at) + deltaSec, at);
  }
}

/** Free bytes for unprivileged writers on the filesystem of `dir`. */
export function freeBytes(dir) {
  const fs = statfsSync(dir);
  return fs.bavail * fs.bsize;
}

function readWhole(path, buf) {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    let done = 0;
    while (done < size) {
      const n = readSync(fd, buf, done, size - done, done);
      if (n === 0) throw new Error(`${path}: shorter than its size`);
      done += n;
    }
    return size;
  } finally {
    closeSync(fd);
  }
}

function writeWhole(path, buf, size) {
  const fd = openSync(path, "w");
  try {
    for (let done = 0; done < size; ) done += writeSync(fd, buf, done, size - done);
  } finally {
    closeSync(fd);
  }
}

function cached(dir, spec) {
  const metaPath = join(dir, "meta.json");
  if (!existsSync(metaPath)) return null;
  const meta = JSON.parse(readFileSync(metaPath, "utf8"));
  if (JSON.stringify(meta.spec) !== JSON.stringify(spec)) return null;
  const intact = meta.files.every((f) => existsSync(f.path) && statSync(f.path).size === f.bytes);
  return intact ? meta : null;
}

/** The spec (and so the directory) of an `n`-file ring built from `base`. */
function specFor(base, n) {
  const shiftSec = base.end[0] - base.start[0] + 1;
  const spec = { version: VERSION, source: base.spec, files: n, shiftSec };
  const id = createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 12);
  return { spec, dir: join(BENCH_DIR, `ring50-${id}`) };
}

/** Writes the `n`-file ring of `spec` into `dir` from `base`'s files. */
function build(base, spec, dir, log) {
  mkdirSync(dir, { recursive: true });
  const sources = base.files;
  const width = String(spec.files - 1).length;
  const buf = Buffer.allocUnsafe(Math.max(...sources.map((f) => f.bytes)));
  const files = new Array(spec.files);
  for (const [s, source] of sources.entries()) {
    if (s >= spec.files) break;
    const size = readWhole(source.path, buf);
    const offsets = recordOffsets(buf, size, source.path);
    for (let k = 0, i = s; i < spec.files; k++, i += sources.length) {
      // Copies are cumulative: each moves the seconds one more span forward.
      if (k > 0) shiftSeconds(buf, offsets, spec.shiftSec);
      const path = join(dir, `ring.pcap${String(i).padStart(width, "0")}`);
      writeWhole(path, buf, size);
      const shift = k * spec.shiftSec;
      files[i] = {
        path,
        bytes: size,
        packets: offsets.length,
        first: [source.first[0] + shift, source.first[1]],
        last: [source.last[0] + shift, source.last[1]],
      };
    }
    log(`ring50: ${basename(source.path)} copied ${Math.ceil((spec.files - s) / sources.length)}×`);
  }
  return files;
}

/** Other rings of this module (other sizes, half-built ones): removed before a build to free disk. */
function removeOthers(keep, log) {
  for (const name of existsSync(BENCH_DIR) ? readdirSync(BENCH_DIR) : []) {
    const path = join(BENCH_DIR, name);
    if (!name.startsWith("ring50-") || path === keep) continue;
    log(`ring50: removing stale ${name}`);
    rmSync(path, { recursive: true, force: true });
  }
}

/**
 * Returns a ring of `gib` GiB (`gib` × 8 files of 128 MiB), reusing a cached one when intact, else
 * building it (after the cached 2.1 GB ring, generated if needed). When the disk has less than
 * {@link NEED_PER_FILE} per file free, the ring is the largest that fits (`fallback` says why;
 * `files` is empty when not even one file fits). The result: `dir`, `files` (path, bytes,
 * packets, first/last [sec, nsec]), `bytes`, `packets`, `start`, `end`, `requestedFiles`,
 * `freeBytes` (before the build), `generated`, and `generation` (`seconds`, `mbps`).
 */
export async function ensureRing50(gib, log = () => undefined) {
  const requestedFiles = Math.max(1, Math.round(gib * 8));
  const base = await ensureRing({}, log);
  const wanted = specFor(base, requestedFiles);
  const reused = cached(wanted.dir, wanted.spec);
  if (reused !== null) return { ...reused, requestedFiles, generated: false, fallback: undefined };
  removeOthers(undefined, log);
  mkdirSync(BENCH_DIR, { recursive: true });
  const free = freeBytes(BENCH_DIR);
  const fits = Math.floor(free / NEED_PER_FILE);
  const n = Math.min(requestedFiles, fits);
  const fallback =
    n < requestedFiles
      ? `${(free / 1e9).toFixed(1)} GB free on the bench disk, ${((requestedFiles * NEED_PER_FILE) / 1e9).toFixed(0)} GB ` +
        `needed for ${requestedFiles} files: ${n === 0 ? "no ring fits" : `built ${n} files instead`}`
      : undefined;
  const empty = { dir: "", files: [], bytes: 0, packets: 0, requestedFiles, freeBytes: free, fallback };
  if (n === 0) return { ...empty, generated: false, generation: { seconds: 0, mbps: 0 } };
  const { spec, dir } = specFor(base, n);
  const started = performance.now();
  const files = build(base, spec, dir, log);
  const seconds = (performance.now() - started) / 1000;
  const bytes = files.reduce((sum, f) => sum + f.bytes, 0);
  const meta = {
    spec,
    dir,
    files,
    bytes,
    packets: files.reduce((sum, f) => sum + f.packets, 0),
    start: files[0].first,
    end: files.at(-1).last,
    generation: { seconds, mbps: bytes / 1e6 / seconds },
  };
  writeFileSync(join(dir, "meta.json"), `${JSON.stringify(meta, null, 2)}\n`);
  return { ...meta, requestedFiles, freeBytes: free, generated: true, fallback };
}
