/**
 * Index files on disk. They live in a state directory the caller owns, never beside the
 * capture (capture directories may be read-only, and a ring's cleaner must not see strangers
 * there), named by a hash of the capture's real path. Writes are atomic (temp file + rename);
 * a missing, stale or damaged index reads as undefined, and damaged or stale files are deleted
 * so the next build writes a fresh one.
 */
import { mkdir, readFile, realpath, rename, rm, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { type BuildOptions, buildIndex } from "./build.js";
import { CaptureIndex } from "./capture-index.js";
import { decodeIndex, IndexFormatError } from "./codec.js";
import { checkFreshness } from "./identity.js";
import type { IndexHeader } from "./index-data.js";
import { asyncIndexFs, type IndexFs, type RandomAccess } from "./index-fs.js";
import { IndexView } from "./index-view.js";
import { sha256Hex } from "./sha256.js";

/** File name suffix of index files. */
export const INDEX_SUFFIX = ".pfidx";

/**
 * Where the index of `capturePath` lives in `stateDir`: the SHA-256 of the capture's real
 * path (resolved path when the capture no longer exists), so symlinks and relative paths
 * to one file share one index.
 */
export async function indexPathFor(stateDir: string, capturePath: string): Promise<string> {
  return indexFileName(stateDir, await realCapturePath(capturePath));
}

/** The index file of the capture whose real path is `real`. */
function indexFileName(stateDir: string, real: string): string {
  const name = sha256Hex(real);
  return join(resolve(stateDir), `${name}${INDEX_SUFFIX}`);
}

/**
 * True when an index with `header` still describes the capture at `real` (its real path): same
 * path, and the file unchanged or only grown since (see `checkFreshness`).
 */
async function describesCapture(
  header: IndexHeader,
  real: string,
  fs: IndexFs = asyncIndexFs,
): Promise<boolean> {
  const st = await fs.stat(real).catch(() => undefined);
  if (st === undefined || header.capturePath !== real) return false;
  return (await checkFreshness(header, real, st, fs)) !== "stale";
}

/**
 * Writes `index` into `stateDir` (created if needed) atomically, and returns the file path.
 * Refuses a state directory that is the capture's directory or inside it.
 */
export async function saveIndex(stateDir: string, index: CaptureIndex): Promise<string> {
  const capture = index.header.capturePath;
  // Checked before creating the directory (which must not appear there) and after (symlinks).
  assertOutside(resolve(stateDir), capture);
  await mkdir(stateDir, { recursive: true });
  const state = await realpath(stateDir);
  assertOutside(state, capture);
  const target = await indexPathFor(state, capture);
  const temp = `${target}.${process.pid}.${process.getBuiltinModule("node:crypto").randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(temp, index.encode());
    await rename(temp, target);
  } catch (cause) {
    await rm(temp, { force: true });
    throw new AppError(ErrorCode.StorageIo, `cannot write index ${target}`, { cause });
  }
  return target;
}

/**
 * The saved index of `capturePath`, or undefined when there is none, when it is stale (the
 * capture was replaced, rewritten, truncated or is gone; the format version differs) or when
 * it is damaged (checksum, truncation). Stale and damaged files are deleted. An index of a
 * capture that has only grown is returned: it is valid up to its `indexedEnd`; records after
 * it are not indexed (`buildIndex(path, { previous })` extends it, see {@link refreshIndex}).
 */
export async function loadIndex(stateDir: string, capturePath: string): Promise<CaptureIndex | undefined> {
  const real = await realCapturePath(capturePath);
  const file = indexFileName(stateDir, real);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new AppError(ErrorCode.StorageIo, `cannot read index ${file}`, { cause });
  }
  let index: CaptureIndex;
  try {
    index = new CaptureIndex(decodeIndex(bytes), bytes.length);
  } catch (error) {
    if (!(error instanceof IndexFormatError)) throw error;
    await discard(file);
    return undefined;
  }
  if (!(await describesCapture(index.header, real))) {
    await discard(file);
    return undefined;
  }
  return index;
}

/**
 * The saved index of `capturePath` opened for one query ({@link IndexView}: only the meta part
 * is read now, posting lists when a filter needs them), or undefined in the cases
 * {@link loadIndex} returns undefined: none, stale or damaged (the latter two deleted). A damaged
 * posting list is only found when it is read: `IndexView.candidates` then rejects with
 * {@link IndexFormatError} (see {@link discardIndex}). The caller closes the view.
 */
export async function openIndexView(
  stateDir: string,
  capturePath: string,
  options: { readonly fs?: IndexFs } = {},
): Promise<IndexView | undefined> {
  const fs = options.fs ?? asyncIndexFs;
  const real = await realCapturePath(capturePath, fs);
  const file = indexFileName(stateDir, real);
  let handle: RandomAccess;
  try {
    handle = await fs.open(file);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new AppError(ErrorCode.StorageIo, `cannot read index ${file}`, { cause });
  }
  let view: IndexView;
  try {
    view = await IndexView.open(handle, file);
  } catch (error) {
    await handle.close().catch(() => undefined);
    if (!(error instanceof IndexFormatError)) {
      throw new AppError(ErrorCode.StorageIo, `cannot read index ${file}`, { cause: error });
    }
    await discard(file);
    return undefined;
  }
  try {
    if (await describesCapture(view.header, real, fs)) return view;
  } catch (error) {
    await view.close();
    throw error;
  }
  await view.close();
  await discard(file);
  return undefined;
}

/** Deletes an index file found damaged while reading it (so the next build writes a fresh one). */
export async function discardIndex(view: IndexView): Promise<void> {
  await discard(view.path);
}

/**
 * The up-to-date index of `capturePath`: the saved one when the capture is unchanged, else
 * extended (the capture grew) or rebuilt (missing, stale, damaged), and saved.
 */
export async function refreshIndex(
  stateDir: string,
  capturePath: string,
  options: Partial<Omit<BuildOptions, "previous">> = {},
): Promise<CaptureIndex> {
  const previous = await loadIndex(stateDir, capturePath);
  const index = await buildIndex(capturePath, { ...options, previous });
  if (index !== previous) await saveIndex(stateDir, index);
  return index;
}

function assertOutside(stateDir: string, capture: string): void {
  const fromCaptureDir = relative(dirname(capture), stateDir);
  const outside =
    fromCaptureDir === ".." || fromCaptureDir.startsWith(`..${sep}`) || isAbsolute(fromCaptureDir);
  if (!outside) {
    throw new AppError(
      ErrorCode.InvalidArgument,
      `index state directory ${stateDir} is inside the capture's directory`,
    );
  }
}

async function realCapturePath(capturePath: string, fs: IndexFs = asyncIndexFs): Promise<string> {
  try {
    return await fs.realpath(capturePath);
  } catch {
    return resolve(capturePath);
  }
}

async function discard(file: string): Promise<void> {
  await rm(file, { force: true });
}
