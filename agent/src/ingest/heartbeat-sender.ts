/**
 * The agent's heartbeat stream to the collector (`SensorIngest.Heartbeats`). Heartbeats run on
 * their own timer, so neither a slow status snapshot nor slice work delays them; subnet traffic
 * rows go through a durable on-disk queue (see traffic-queue.ts) and leave it only when acked,
 * so a collector outage or an agent restart loses no minute. A broken stream is redialled with
 * full-jitter exponential backoff on a fresh channel, so the backoff here is the only one.
 */
import { AppError, ErrorCode } from "@pcapfleet/core";
import {
  createChannel,
  createClient,
  type IngestAck,
  SensorIngest,
  type TypedClient,
  tlsCallError,
} from "@pcapfleet/proto";
import { createBackoff } from "./backoff.js";
import type { HeartbeatSender, HeartbeatSenderOptions } from "./heartbeat-types.js";
import { createSnapshots, createTicker } from "./ticker.js";
import { openTrafficQueue, type TrafficQueue } from "./traffic-queue.js";
import { type QueuedRow, type TrafficRow, toSubnetTraffic } from "./traffic-row.js";

export type { HeartbeatSender, HeartbeatSenderOptions, HeartbeatSenderStats } from "./heartbeat-types.js";
export type { TrafficRow } from "./traffic-row.js";

interface Inflight {
  readonly sequence: bigint;
  /** Highest queue row id sent with this heartbeat or before it on this stream. */
  readonly lastRowId: number;
  readonly sentAtMs: number;
}

/** One call to the collector, from dial to end. */
interface Stream {
  readonly call: ReturnType<TypedClient<typeof SensorIngest>["heartbeats"]>["requests"];
  /** Heartbeats written and not yet acked, oldest first. */
  readonly inflight: Inflight[];
  /** Highest row id written on this stream: the next heartbeat sends the rows after it. */
  cursor: number;
  lastAcked: bigint;
  connected: boolean;
  closed: boolean;
}

const lastAckWaitMs = 2_000;
const endWaitMs = 1_000;
// A fresh channel per attempt, so the backoff here is the only one: grpc-js would otherwise
// share a subchannel (and its own reconnect backoff) across channels, and a closed channel's
// subchannel still redials once after its backoff unless that backoff outlasts it.
const channelOptions = {
  "grpc.use_local_subchannel_pool": 1,
  "grpc.initial_reconnect_backoff_ms": 3_600_000,
  "grpc.max_reconnect_backoff_ms": 3_600_000,
};

/** Creates the heartbeat sender of an agent; nothing happens until `start()`. */
export function createHeartbeatSender(options: HeartbeatSenderOptions): HeartbeatSender {
  const { target, takeTraffic, queueDir, log } = options;
  if (!(options.intervalS > 0) || !((options.maxRowsPerHeartbeat ?? 1) >= 1)) {
    throw new AppError(ErrorCode.InvalidArgument, "heartbeat interval and batch size must be positive");
  }
  const now = options.now ?? Date.now;
  const maxRows = options.maxRowsPerHeartbeat ?? 5_000;
  const backoff = createBackoff(options.backoff ?? { initialMs: 1_000, maxMs: 60_000 });
  let intervalS = options.intervalS;
  let sequence = 0n;
  let queue: TrafficQueue | undefined;
  let ready: Promise<void> = Promise.resolve();
  let loop: Promise<void> = Promise.resolve();
  let pendingRows: TrafficRow[] = [];
  let heartbeatDue = false;
  let work: Promise<void> | undefined;
  let stream: Stream | undefined;
  let started = false;
  let stopping: Promise<void> | undefined;
  const counters = { sent: 0, acked: 0, lastAckAt: undefined as Date | undefined };
  let waiters: (() => void)[] = [];

  /** Wakes every {@link waitUntil} to re-check its condition. */
  const wake = (): void => {
    const woken = waiters;
    waiters = [];
    for (const resolve of woken) resolve();
  };
  const snapshots = createSnapshots(options.status, log, wake);
  const ticker = createTicker(onTick);

  async function waitUntil(done: () => boolean, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done() && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  function collectTraffic(): void {
    try {
      const rows = takeTraffic();
      if (rows.length > 0) pendingRows = pendingRows.concat(rows);
    } catch (error) {
      log.error({ err: error }, "cannot take traffic summaries");
    }
  }

  function onTick(): void {
    if (stopping !== undefined) return;
    snapshots.refresh();
    collectTraffic();
    dropSilentStream();
    heartbeatDue = true;
    void runWork();
  }

  /** A collector that stops acking (half-open TCP, stuck process) is treated as gone. */
  function dropSilentStream(): void {
    const oldest = stream?.inflight[0];
    const limitMs = Math.max(3 * intervalS * 1000, 10_000);
    if (stream === undefined || oldest === undefined || Date.now() - oldest.sentAtMs <= limitMs) return;
    log.warn({ target, sequence: oldest.sequence.toString() }, "collector does not ack; redialling");
    stream.call.cancel();
  }

  /** Persists collected rows, then sends the due heartbeat; ticks arriving meanwhile coalesce. */
  function runWork(): Promise<void> {
    if (work !== undefined) return work;
    if (pendingRows.length === 0 && !heartbeatDue) return Promise.resolve();
    work = drain();
    return work;
  }

  async function drain(): Promise<void> {
    // Each pass awaits, so `work` is set before this ends; and it is cleared in the same
    // synchronous step as the last check, so no caller can get a finished run with work left.
    try {
      while (pendingRows.length > 0 || heartbeatDue) {
        const send = heartbeatDue;
        heartbeatDue = false;
        // Rows are on disk before the heartbeat that carries them reads its batch.
        while (pendingRows.length > 0) {
          const rows = pendingRows;
          pendingRows = [];
          await persist(rows);
        }
        if (send) await sendHeartbeat();
      }
    } finally {
      work = undefined;
    }
  }

  async function persist(rows: TrafficRow[]): Promise<void> {
    if (queue === undefined) {
      log.error({ rows: rows.length }, "heartbeat queue unavailable: traffic rows dropped");
      return;
    }
    try {
      await queue.append(rows);
    } catch (error) {
      log.error({ err: error, rows: rows.length }, "cannot queue traffic rows: dropped");
    }
  }

  async function sendHeartbeat(): Promise<void> {
    const current = stream;
    // While stopping, only a stream the collector has acked gets the last heartbeat.
    if (current === undefined || current.closed || (stopping !== undefined && !current.connected)) return;
    let rows: QueuedRow[] = [];
    try {
      rows = queue === undefined ? [] : await queue.readBatch(current.cursor, maxRows);
    } catch (error) {
      log.error({ err: error }, "cannot read the heartbeat queue; heartbeat sent without traffic");
    }
    if (current.closed) return;
    sequence += 1n;
    const sentAt = now();
    const status = snapshots.latest();
    const lastRowId = rows.at(-1)?.id ?? current.cursor;
    current.call.write({
      kind: {
        case: "heartbeat",
        value: {
          sequence,
          sentAt: { seconds: BigInt(Math.floor(sentAt / 1000)), nanos: Math.floor(sentAt % 1000) * 1e6 },
          traffic: rows.map(toSubnetTraffic),
          ...(status === undefined ? {} : { status }),
        },
      },
    });
    current.inflight.push({ sequence, lastRowId, sentAtMs: Date.now() });
    current.cursor = lastRowId;
    counters.sent += 1;
  }

  async function onAck(current: Stream, ack: IngestAck): Promise<void> {
    counters.acked += 1;
    counters.lastAckAt = new Date(now());
    current.lastAcked = ack.sequence;
    if (!current.connected) {
      current.connected = true;
      log.info({ target }, "heartbeat stream connected");
    }
    backoff.reset();
    let through = 0;
    while (current.inflight[0] !== undefined && current.inflight[0].sequence <= ack.sequence) {
      through = Math.max(through, current.inflight.shift()?.lastRowId ?? 0);
    }
    if (queue !== undefined && through > queue.floor()) {
      try {
        await queue.ackThrough(through);
      } catch (error) {
        log.error({ err: error }, "cannot drop acked rows from the heartbeat queue; they may be sent again");
      }
    }
    const asked = ack.heartbeatIntervalSeconds;
    if (asked > 0 && asked !== intervalS) {
      log.info({ from: intervalS, to: asked }, "collector changed the heartbeat interval");
      intervalS = asked;
      ticker.change(asked * 1000);
    }
    wake();
  }

  /** One call to the collector; resolves when it ends, with why. */
  async function runStream(): Promise<string> {
    const channel = createChannel(target, options.credentials, channelOptions);
    const { requests, responses } = createClient(SensorIngest, channel).heartbeats();
    const current: Stream = {
      call: requests,
      inflight: [],
      cursor: 0,
      lastAcked: 0n,
      connected: false,
      closed: false,
    };
    stream = current;
    // The first heartbeat of a stream goes at once, with the latest status and queued rows.
    heartbeatDue = true;
    void runWork();
    let reason = "collector ended the stream";
    try {
      for await (const response of responses) {
        if (response.kind.case === "ack") await onAck(current, response.kind.value);
      }
    } catch (error) {
      // A TLS failure says so (and why), rather than grpc-js's bare "Failed to connect".
      const secure = options.credentials !== undefined;
      reason = (tlsCallError(error, target, { secure }) ?? AppError.from(error)).message;
    } finally {
      current.closed = true;
      if (stream === current) stream = undefined;
      channel.close();
      wake();
    }
    return reason;
  }

  async function connectLoop(): Promise<void> {
    while (stopping === undefined) {
      const reason = await runStream();
      if (stopping !== undefined) return;
      const step = backoff.next();
      log.warn({ target, reason, ...step }, "heartbeat stream down; redialling after backoff");
      await waitUntil(() => stopping !== undefined, step.delayMs);
    }
  }

  async function shutdown(): Promise<void> {
    ticker.stop();
    wake();
    await ready;
    collectTraffic();
    const current = stream;
    if (current?.connected === true && !current.closed) {
      heartbeatDue = true;
      await runWork();
      const last = sequence;
      await waitUntil(() => current.closed || current.lastAcked >= last, lastAckWaitMs);
      current.call.end();
      await waitUntil(() => current.closed, endWaitMs);
    }
    await runWork();
    if (stream !== undefined && !stream.closed) stream.call.cancel();
    await loop;
    try {
      await queue?.close();
    } catch (error) {
      log.error({ err: error }, "cannot persist the heartbeat queue");
    }
  }

  return {
    start() {
      if (started || stopping !== undefined) return;
      started = true;
      snapshots.refresh();
      ready = openTrafficQueue({ dir: queueDir, maxBytes: options.queueMaxBytes ?? 64 * 2 ** 20, log }).then(
        (opened) => {
          queue = opened;
        },
        (error: unknown) =>
          log.error({ err: error }, "heartbeat queue unavailable: traffic rows will be lost"),
      );
      loop = (async () => {
        await ready;
        // The first heartbeat should carry a status: wait for one, but not longer than an interval.
        const first = () => snapshots.latest() !== undefined || stopping !== undefined;
        await waitUntil(first, intervalS * 1000);
        if (stopping !== undefined) return;
        ticker.start(intervalS * 1000);
        collectTraffic();
        await connectLoop();
      })();
    },
    stop() {
      stopping ??= started ? shutdown() : Promise.resolve();
      return stopping;
    },
    stats() {
      return {
        connected: stream?.connected === true,
        sent: counters.sent,
        acked: counters.acked,
        queuedRows: (queue?.queuedRows() ?? 0) + pendingRows.length,
        lastAckAt: counters.lastAckAt,
        intervalS,
      };
    },
  };
}
