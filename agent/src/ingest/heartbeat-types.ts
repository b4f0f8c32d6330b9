/**
 * The public shape of the heartbeat sender (heartbeat-sender.ts): its options, counters and
 * handle, apart from the implementation so callers and tests read them in one place.
 */
import type { Logger } from "@pcapfleet/core";
import type { ChannelCredentials, SensorStatus } from "@pcapfleet/proto";
import type { TrafficRow } from "./traffic-row.js";

/** Options of {@link createHeartbeatSender}. */
export interface HeartbeatSenderOptions {
  /** Collector gRPC address, host:port. */
  readonly target: string;
  /** TLS credentials of the channel to the collector (proto's `channelCredentials`); plaintext when absent. */
  readonly credentials?: ChannelCredentials;
  /** Seconds between heartbeats (PCAPFLEET_HEARTBEAT_S) until the collector asks otherwise. */
  readonly intervalS: number;
  /** Builds the current status snapshot; never called twice at once. */
  readonly status: () => Promise<SensorStatus>;
  /** Traffic rows of the minutes completed since the previous call. */
  readonly takeTraffic: () => TrafficRow[];
  /** Directory of the on-disk queue, in the agent's state dir. */
  readonly queueDir: string;
  /** Bound of the queue files; the oldest rows are dropped beyond it. Default 64 MiB. */
  readonly queueMaxBytes?: number;
  readonly log: Logger;
  /** Redial backoff with full jitter. Default 1 s .. 60 s. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Most traffic rows in one heartbeat; the rest follow with the next ones. Default 5,000. */
  readonly maxRowsPerHeartbeat?: number;
  /** Clock of `sentAt` and `lastAckAt`, ms since the epoch. Default `Date.now`. */
  readonly now?: () => number;
}

/** Counters of a {@link HeartbeatSender}. */
export interface HeartbeatSenderStats {
  /** The collector acked a heartbeat on the current stream. */
  readonly connected: boolean;
  /** Heartbeats written to a stream. */
  readonly sent: number;
  /** Acks received. */
  readonly acked: number;
  /** Traffic rows not yet acked. */
  readonly queuedRows: number;
  readonly lastAckAt: Date | undefined;
  /** Current interval, as configured or as the collector last asked. */
  readonly intervalS: number;
}

/** A running heartbeat stream; see {@link createHeartbeatSender}. */
export interface HeartbeatSender {
  /** Opens the queue and starts the timer and the stream; a second call does nothing. */
  start(): void;
  /**
   * Clean shutdown: takes the last traffic rows into the queue, sends a last heartbeat when
   * connected and waits up to 2 s for its ack, closes the stream and persists the queue.
   */
  stop(): Promise<void>;
  stats(): HeartbeatSenderStats;
}
