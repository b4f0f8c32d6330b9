/**
 * The durable queue of subnet traffic rows that heartbeats carry to the collector. Rows are
 * written here before they are sent and leave only when the collector acks them (or when the
 * queue is full), so a collector outage or an agent restart loses no minute of summaries.
 *
 * On-disk format, one directory per agent:
 * - `seg-<id of its first row, 16 digits>.jsonl`: append-only segment files, one row per line
 *   (see `encodeRow`: `{"i":id,"m":"<minute ns>","p":prefix,"d":"src"|"dst","b":bytes,"n":packets}`).
 *   Row ids grow by one per row across segments and are never reused in a directory.
 * - `acked`: one decimal id; every row with an id up to it was acked or dropped. Written to a
 *   temporary file and renamed, so it is either the old or the new value.
 * Each process appends to a fresh segment only, so a line torn by a crash is never extended;
 * lines that do not parse (torn tail, corruption) are skipped with one warning per file.
 * Compaction: a segment whose rows are all acked is deleted. The newest segment rotates at
 * `segmentBytes`; when the files exceed `maxBytes`, the oldest segments are deleted (dropping
 * their rows), so the bound is kept to within one segment of rows.
 *
 * Only the newest segment is held in memory; older ones are read back when sent, which keeps
 * memory small while a long outage fills a large queue.
 */
import { mkdir, open, readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AppError, ErrorCode, type Logger } from "@pcapfleet/core";
import { decodeRow, encodeRow, type QueuedRow, type TrafficRow } from "./traffic-row.js";

/** Options of {@link openTrafficQueue}. */
export interface TrafficQueueOptions {
  /** Directory of the queue; created when missing. */
  readonly dir: string;
  /** Bound of the segment files together. */
  readonly maxBytes: number;
  readonly log: Logger;
}

/** The durable row queue; every method is serialised with the others. */
export interface TrafficQueue {
  /** Writes rows to disk (fsynced) with the next ids, then drops the oldest rows over the bound. */
  append(rows: readonly TrafficRow[]): Promise<void>;
  /** Up to `limit` rows with ids above `afterId` (and above the acked id), oldest first. */
  readBatch(afterId: number, limit: number): Promise<QueuedRow[]>;
  /** Forgets every row with an id up to `id`, on disk too. */
  ackThrough(id: number): Promise<void>;
  /** Highest id acked or dropped. */
  floor(): number;
  /** Rows not yet acked. */
  queuedRows(): number;
  /** Bytes of the segment files. */
  diskBytes(): number;
  /** Persists the acked id and closes the newest segment. */
  close(): Promise<void>;
}

interface Segment {
  readonly name: string;
  /** Ids of the rows in the file, ascending. */
  readonly ids: number[];
  bytes: number;
  /** Rows of the newest (open) segment only. */
  rows: QueuedRow[] | undefined;
}

const segmentPattern = /^seg-\d{16}\.jsonl$/;

/** Opens (or creates) the queue in `options.dir`, replaying what an earlier process left. */
export async function openTrafficQueue(options: TrafficQueueOptions): Promise<TrafficQueue> {
  const { dir, maxBytes, log } = options;
  // Small enough that dropping one segment loses little, large enough to keep files few.
  const segmentBytes = Math.min(1 << 20, Math.max(512, Math.floor(maxBytes / 8)));
  await io(`create ${dir}`, () => mkdir(dir, { recursive: true }));
  let floor = await readFloor(dir, log);
  const segments = await loadSegments(dir, floor, log);
  let lastId = Math.max(floor, ...segments.map((segment) => segment.ids.at(-1) ?? 0));
  let tail: { segment: Segment; file: Awaited<ReturnType<typeof open>> } | undefined;
  let persistedFloor = floor;
  // Rows dropped since the queue last drained, and whether that was already reported.
  let droppedInEpisode = 0;
  let droppedUnreported = 0;
  let cache: { name: string; rows: QueuedRow[] } | undefined;
  let chain: Promise<unknown> = Promise.resolve();

  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const result = chain.then(work);
    chain = result.catch(() => undefined);
    return result;
  };

  async function rowsOf(segment: Segment): Promise<QueuedRow[]> {
    if (segment.rows !== undefined) return segment.rows;
    if (cache?.name !== segment.name) {
      const text = await io(`read ${segment.name}`, () => readFile(join(dir, segment.name), "utf8"));
      cache = { name: segment.name, rows: parseLines(text).rows };
    }
    return cache.rows;
  }

  async function sealTail(): Promise<void> {
    if (tail === undefined) return;
    const { file, segment } = tail;
    tail = undefined;
    segment.rows = undefined;
    await io(`close ${segment.name}`, () => file.close());
  }

  async function removeSegment(segment: Segment): Promise<void> {
    if (tail?.segment === segment) await sealTail();
    segments.splice(segments.indexOf(segment), 1);
    if (cache?.name === segment.name) cache = undefined;
    await io(`delete ${segment.name}`, () => unlink(join(dir, segment.name)));
  }

  async function persistFloor(): Promise<void> {
    if (floor === persistedFloor) return;
    const path = join(dir, "acked");
    await io("write acked", async () => {
      await writeFile(`${path}.tmp`, `${floor}\n`);
      await rename(`${path}.tmp`, path);
    });
    persistedFloor = floor;
  }

  /** Deletes the oldest segments while the files exceed the bound; one warning per episode. */
  async function trim(): Promise<void> {
    let dropped = 0;
    while (segments.length > 1 && totalBytes() > maxBytes) {
      const oldest = segments[0] as Segment;
      dropped += countAbove(oldest.ids, floor);
      floor = Math.max(floor, oldest.ids.at(-1) ?? floor);
      await removeSegment(oldest);
    }
    if (dropped === 0) return;
    // One warning when an outage overflows the queue, not one per heartbeat while it lasts.
    if (droppedInEpisode === 0) {
      log.warn({ dropped, maxBytes }, "heartbeat queue full: dropped the oldest traffic rows");
    } else droppedUnreported += dropped;
    droppedInEpisode += dropped;
  }

  const totalBytes = (): number => segments.reduce((sum, segment) => sum + segment.bytes, 0);

  return {
    append(rows) {
      return serial(async () => {
        if (rows.length === 0) return;
        const queued = rows.map((row) => ({ ...row, id: ++lastId }));
        const text = queued.map((row) => `${encodeRow(row)}\n`).join("");
        if (tail === undefined) {
          const name = `seg-${String(queued[0]?.id ?? lastId).padStart(16, "0")}.jsonl`;
          const file = await io(`create ${name}`, () => open(join(dir, name), "a"));
          const segment: Segment = { name, ids: [], bytes: 0, rows: [] };
          segments.push(segment);
          tail = { segment, file };
        }
        const { file, segment } = tail;
        await io(`append to ${segment.name}`, async () => {
          await file.appendFile(text);
          await file.datasync();
        });
        for (const row of queued) {
          segment.ids.push(row.id);
          segment.rows?.push(row);
        }
        segment.bytes += Buffer.byteLength(text);
        if (segment.bytes >= segmentBytes) await sealTail();
        await trim();
        await persistFloor();
      });
    },
    readBatch(afterId, limit) {
      return serial(async () => {
        const after = Math.max(afterId, floor);
        const batch: QueuedRow[] = [];
        for (const segment of segments) {
          if (batch.length >= limit) break;
          if ((segment.ids.at(-1) ?? 0) <= after) continue;
          for (const row of await rowsOf(segment)) {
            if (row.id <= after) continue;
            batch.push(row);
            if (batch.length >= limit) break;
          }
        }
        return batch;
      });
    },
    ackThrough(id) {
      return serial(async () => {
        if (id <= floor) return;
        floor = Math.min(id, lastId);
        while (segments[0] !== undefined && (segments[0].ids.at(-1) ?? 0) <= floor) {
          await removeSegment(segments[0]);
        }
        if (droppedUnreported > 0) {
          log.warn({ dropped: droppedInEpisode }, "heartbeat queue: traffic rows dropped in all while full");
        }
        droppedInEpisode = 0;
        droppedUnreported = 0;
        await persistFloor();
      });
    },
    floor: () => floor,
    queuedRows: () => segments.reduce((sum, segment) => sum + countAbove(segment.ids, floor), 0),
    diskBytes: totalBytes,
    close() {
      return serial(async () => {
        await persistFloor();
        await sealTail();
      });
    },
  };
}

/** Reads the acked id; a missing file is a new queue, a corrupt one is taken as 0 (resend). */
async function readFloor(dir: string, log: Logger): Promise<number> {
  let text: string;
  try {
    text = await readFile(join(dir, "acked"), "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw storageError("read acked", cause);
  }
  const value = Number(text.trim());
  if (/^\d+$/.test(text.trim()) && Number.isSafeInteger(value)) return value;
  log.warn({ dir }, "heartbeat queue: unreadable acked marker ignored; unacked rows may be sent twice");
  return 0;
}

async function loadSegments(dir: string, floor: number, log: Logger): Promise<Segment[]> {
  const names = (await io(`list ${dir}`, () => readdir(dir))).filter((name) => segmentPattern.test(name));
  const segments: Segment[] = [];
  let lastId = floor;
  for (const name of names.sort()) {
    const text = await io(`read ${name}`, () => readFile(join(dir, name), "utf8"));
    const { rows, corrupt } = parseLines(text);
    // Ids must keep growing across files; a row that goes back is as corrupt as a torn line.
    const ids: number[] = [];
    let skipped = corrupt;
    for (const row of rows) {
      if (row.id <= lastId) {
        if (row.id > floor) skipped += 1;
        continue;
      }
      ids.push(row.id);
      lastId = row.id;
    }
    if (skipped > 0) log.warn({ file: name, lines: skipped }, "heartbeat queue: corrupt lines skipped");
    if (ids.length === 0) await io(`delete ${name}`, () => unlink(join(dir, name)));
    else segments.push({ name, ids, bytes: Buffer.byteLength(text), rows: undefined });
  }
  return segments;
}

function parseLines(text: string): { rows: QueuedRow[]; corrupt: number } {
  const lines = text.split("\n");
  // The piece after the last newline is empty for a clean file and a torn line otherwise.
  const torn = lines.pop() ?? "";
  const rows: QueuedRow[] = [];
  let corrupt = torn === "" ? 0 : 1;
  for (const line of lines) {
    const row = decodeRow(line);
    if (row === undefined) corrupt += 1;
    else rows.push(row);
  }
  return { rows, corrupt };
}

/** How many of the ascending `ids` are above `floor`. */
function countAbove(ids: readonly number[], floor: number): number {
  let low = 0;
  let high = ids.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((ids[mid] ?? 0) <= floor) low = mid + 1;
    else high = mid;
  }
  return ids.length - low;
}

async function io<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (cause) {
    throw storageError(what, cause);
  }
}

function storageError(what: string, cause: unknown): AppError {
  const code = (cause as NodeJS.ErrnoException).code ?? String(cause);
  return new AppError(ErrorCode.StorageIo, `heartbeat queue: cannot ${what}: ${code}`, { cause });
}
