/**
 * Index files on disk. They live in a state directory the caller owns, never beside the
 * capture (capture directories may be read-only, and a ring's cleaner must not see strangers
 * there), named by a hash of the capture's real path. Writes are atomic (temp file + rename);
 * a missing, stale or damaged index reads as undefined, and damaged or stale files are deleted
 * so the next build writes a fresh one.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, realpath, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { type BuildOptions, buildIndex } from "./build.js";
import { CaptureIndex } from "./capture-index.js";
import { decodeIndex, IndexFormatError } from "./codec.js";
import { checkFreshness } from "./identity.js";

/** File name suffix of index files. */
export const INDEX_SUFFIX = ".pfidx";

/**
 * Where the index of `capturePath` lives in `stateDir`: the SHA-256 of the capture's real
 * path (resolved path when the capture no longer exists), so symlinks and relative paths
 * to one file share one index.
 */
export async function indexPathFor(stateDir: string, capturePath: string): Promise<string> {
  const real = await realCapturePath(capturePath);
  const name = createHash("sha256").update(real).digest("hex");
  return join(resolve(stateDir), `${name}${INDEX_SUFFIX}`);
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
  const temp = `${target}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
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
  const file = await indexPathFor(stateDir, capturePath);
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
  const real = await realCapturePath(capturePath);
  const st = await stat(real, { bigint: true }).catch(() => undefined);
  if (st === undefined || index.header.capturePath !== real) {
    await discard(file);
    return undefined;
  }
  if ((await checkFreshness(index.header, real, st)) === "stale") {
    await discard(file);
    return undefined;
  }
  return index;
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

async function realCapturePath(capturePath: string): Promise<string> {
  try {
    return await realpath(capturePath);
  } catch {
    return resolve(capturePath);
  }
}

async function discard(file: string): Promise<void> {
  await rm(file, { force: true });
}
