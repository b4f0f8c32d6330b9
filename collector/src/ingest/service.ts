import { AppError, ErrorCode, type Logger } from "@pcapfleet/core";
import type { ServiceBinding } from "@pcapfleet/proto";
import type { Db } from "../db/index.js";
import type { Kv } from "../kv/index.js";
import { sensorStatusChannel } from "../sensors/status.js";
import { defaultSensorThresholds, type SensorThresholds } from "../sensors/thresholds.js";
import { createBatcher, nextTurn, type Settled } from "./batcher.js";
import { type Ack, bindIngestService, type IngestHandler } from "./ingest-codecs.js";
import {
  createIngestMemo,
  type ReceivedHeartbeat,
  rememberWrite,
  type StatusChange,
  writeHeartbeats,
} from "./writer.js";

/** The kv channel status changes are published on (re-exported from `sensors`). */
export { sensorStatusChannel };

/** Batch settings of the ingest writer. */
export interface IngestBatchOptions {
  /** Most heartbeats per transaction; default 1,000. */
  readonly maxSize: number;
  /** Longest a heartbeat waits for others before being written; default 50 ms. */
  readonly maxDelayMs: number;
  /** Transactions in flight at once; default 2 on Postgres, 1 on PGlite. */
  readonly concurrency: number;
  /**
   * Heartbeats queued or being written at which streams stop being read until the writer
   * catches up; default 2 × maxSize × concurrency.
   */
  readonly maxQueued: number;
}

/** Dependencies of {@link createIngestService}. */
export interface IngestServiceOptions {
  readonly db: Db;
  readonly kv: Kv;
  readonly log: Logger;
  /** Status thresholds; the defaults of `sensorThresholdsSchema` when absent. */
  readonly thresholds?: SensorThresholds;
  /** Clock for receive times, for tests. */
  readonly now?: () => Date;
  readonly batch?: Partial<IngestBatchOptions>;
  /** Heartbeats of one stream awaiting their ack before the stream is read further; default 32. */
  readonly maxUnackedPerStream?: number;
}

/** Counters since start, for metrics and the benchmark. */
export interface IngestStats {
  /** Heartbeats stored and acked. */
  readonly heartbeats: number;
  /** Transactions committed. */
  readonly batches: number;
  /** Heartbeats refused as invalid. */
  readonly rejected: number;
  /** Heartbeats whose write failed. */
  readonly failed: number;
  /** Traffic rows dropped as malformed. */
  readonly rejectedTrafficRows: number;
  /** Status changes recorded. */
  readonly statusChanges: number;
}

/** The SensorIngest service; serve `binding` with `createGrpcServer`. */
export interface IngestService {
  /** The service bound for `createGrpcServer({services: [binding]})`. */
  readonly binding: ServiceBinding;
  /** The heartbeats handler behind `binding` (reads requests decoded by `heartbeat-codec.ts`). */
  readonly heartbeats: IngestHandler;
  /** Counters since the service was created. */
  stats(): IngestStats;
  /** Writes heartbeats already received; call after the gRPC server stopped. */
  drain(): Promise<void>;
}

/**
 * Creates the SensorIngest implementation. Each heartbeat is checked, queued, and written with
 * others in one transaction every ~50 ms (or 1,000 heartbeats); its ack is sent only after that
 * transaction committed (synchronously: an acked heartbeat is never lost, so the agent may drop
 * the traffic rows it carried), and acks keep their order. One stream may have several
 * heartbeats in flight.
 *
 * On Postgres two transactions run at once, so Node prepares one batch while the server writes
 * the other; a sensor is never in both (its heartbeats must commit in order), which also keeps
 * their row locks disjoint. Under load batches grow instead of queueing, up to 1,000: a bigger
 * batch costs Postgres less per heartbeat (~230 µs at 1,000 against ~310 µs at 500, measured
 * on 20,000 sensors) and still commits in a quarter of a second. When the writer falls behind
 * anyway, streams are not read further (HTTP/2 flow control then holds heartbeats at the
 * agents), so memory stays bounded instead of every stream queueing up to its own limit.
 */
export function createIngestService(options: IngestServiceOptions): IngestService {
  const { db, kv, log } = options;
  const thresholds = options.thresholds ?? defaultSensorThresholds;
  const now = options.now ?? (() => new Date());
  const maxUnacked = options.maxUnackedPerStream ?? 32;
  // What this process stored, to skip statements that would change nothing (see writer.ts).
  const memo = createIngestMemo();
  const counts = {
    heartbeats: 0,
    batches: 0,
    rejected: 0,
    failed: 0,
    rejectedTrafficRows: 0,
    statusChanges: 0,
  };

  async function publish(changes: readonly StatusChange[]): Promise<void> {
    for (const change of changes) {
      await kv.publish(sensorStatusChannel, JSON.stringify(change)).catch((error: unknown) => {
        // The change is stored; a lost notification only delays what dashboards show.
        log.warn({ err: error, sensor: change.sensor }, "ingest: publishing a status change failed");
      });
    }
  }

  /** Writes one batch; `memoTrusted` false once the memo was cleared for a retry. */
  async function write(
    items: readonly ReceivedHeartbeat[],
    memoTrusted = true,
  ): Promise<Settled<undefined>[]> {
    try {
      const result = await db.transaction((tx) => writeHeartbeats(tx, items, thresholds, memo));
      rememberWrite(memo, result);
      const { changes } = result;
      counts.batches += 1;
      counts.heartbeats += items.length;
      counts.statusChanges += changes.length;
      await publish(changes);
      return items.map(() => ({ ok: true, value: undefined }));
    } catch (reason) {
      const error = AppError.from(reason);
      if (memoTrusted && memo.locations.size > 0 && error.code !== ErrorCode.Unavailable) {
        // A location the memo believes in may be gone (renamed): once more, inserting them all.
        memo.locations.clear();
        return write(items, false);
      }
      if (items.length === 1 || error.code === ErrorCode.Unavailable) {
        counts.failed += items.length;
        log.error({ err: error, heartbeats: items.length }, "ingest: writing heartbeats failed");
        return items.map(() => ({ ok: false, error }));
      }
      // One bad heartbeat must not cost every other sensor its ack: retry them one by one.
      log.warn({ err: error, heartbeats: items.length }, "ingest: batch failed, writing one by one");
      const results: Settled<undefined>[] = [];
      for (const item of items) results.push(...(await write([item], false)));
      return results;
    }
  }

  const maxSize = options.batch?.maxSize ?? 1000;
  // PGlite has one session, so a second transaction would only queue behind the first.
  const concurrency = options.batch?.concurrency ?? (db.kind === "postgres" ? 2 : 1);
  const maxQueued = Math.max(1, options.batch?.maxQueued ?? 2 * maxSize * concurrency);
  const batcher = createBatcher<ReceivedHeartbeat, undefined>({
    write,
    maxSize,
    maxDelayMs: options.batch?.maxDelayMs ?? 50,
    concurrency,
    key: (item) => item.record.sensor,
  });

  // Buffered requests of many streams are read as one chain of microtasks (each `for await`
  // step resolves at once), which held the event loop for hundreds of ms when 2,000 streams
  // resumed together; every `readSlice` heartbeats (a few ms of work), all readers wait for one
  // turn of the loop, so Postgres answers and REST requests are served in between.
  const readSlice = 256;
  let readSinceTurn = 0;
  let turn: Promise<void> | undefined;
  const readTurn = (): Promise<void> => {
    turn ??= nextTurn().then(() => {
      readSinceTurn = 0;
      turn = undefined;
    });
    return turn;
  };

  const heartbeats: IngestHandler = async function* heartbeats(requests, context) {
    const acks: Promise<Ack>[] = [];
    let ended = false;
    let failure: unknown;
    let waiters: (() => void)[] = [];
    const notify = () => {
      const woken = waiters;
      waiters = [];
      for (const wake of woken) wake();
    };
    const changed = () => new Promise<void>((resolve) => waiters.push(resolve));

    // Reads requests while earlier ones are being written, so one stream is not limited to
    // one heartbeat per transaction.
    const reader = async () => {
      try {
        for await (const request of requests) {
          // Backpressure: while the writer is behind, this stream is not read further.
          await batcher.below(maxQueued);
          if (++readSinceTurn >= readSlice) await readTurn();
          if (ended) break;
          if (request.case === "invalid") {
            counts.rejected += 1;
            throw request.error;
          }
          if (request.case !== "heartbeat") continue;
          const { record, sequence } = request;
          counts.rejectedTrafficRows += record.rejectedTraffic;
          const receivedAtMs = now().getTime();
          const ack = batcher.submit({ record, receivedAtMs }).then(
            (): Ack => ({
              kind: {
                case: "ack",
                value: {
                  sequence,
                  receivedAt: {
                    seconds: BigInt(Math.floor(receivedAtMs / 1000)),
                    nanos: (receivedAtMs % 1000) * 1_000_000,
                  },
                  heartbeatIntervalSeconds: 0,
                },
              },
            }),
          );
          // Handled when its turn comes; this only keeps an early failure from being "unhandled".
          ack.catch(() => undefined);
          acks.push(ack);
          notify();
          while (acks.length >= maxUnacked && !ended) await changed();
          if (ended) break;
        }
      } catch (error) {
        failure = error;
      } finally {
        ended = true;
        notify();
      }
    };
    void reader();
    try {
      for (;;) {
        const next = acks.shift();
        if (next !== undefined) {
          notify();
          yield await next;
          continue;
        }
        if (ended) break;
        await changed();
      }
      if (failure !== undefined && !context.signal.aborted) throw failure;
    } finally {
      ended = true;
      notify();
    }
  };

  return {
    heartbeats,
    binding: bindIngestService(heartbeats),
    stats: () => ({ ...counts }),
    drain: () => batcher.drain(),
  };
}
