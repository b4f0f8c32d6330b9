import { AppError, ErrorCode, type Logger } from "@pcapfleet/core";

/**
 * The shared key-value store of the collectors: cache entries, token revocations, rate-limit
 * counters and pub/sub between collectors. Redis when `REDIS_URL` is set, an in-process store
 * otherwise; both follow Redis semantics (string values, millisecond TTLs, fire-and-forget
 * pub/sub), so code never branches on which one it has.
 */

/** Which store sits behind a {@link Kv}. */
export type KvKind = "redis" | "memory";

/** Options of {@link Kv.set}. */
export interface SetOptions {
  /** Expire the key after this many milliseconds (a positive integer). Absent: no expiry. */
  readonly ttlMs?: number;
  /** Only write when the key does not exist (Redis `NX`); `set` then resolves to false. */
  readonly onlyIfAbsent?: boolean;
}

/** Options of {@link Kv.incr}. */
export interface IncrOptions {
  /** Amount to add, a safe integer (negative to subtract); 1 when absent. */
  readonly by?: number;
  /** When this call creates the key, it expires after this many milliseconds. */
  readonly ttlMs?: number;
}

/** Receives each message published on a channel. Its exceptions are contained (and logged when the store has a log). */
export type MessageHandler = (message: string) => void;

/** Stops one subscription; resolves once no further messages reach its handler. */
export type Unsubscribe = () => Promise<void>;

/** A namespaced key-value store with TTLs, counters and pub/sub. */
export interface Kv {
  /** The store behind this handle. */
  readonly kind: KvKind;
  /** The namespace prepended to every key and channel. */
  readonly prefix: string;
  /** The value of `key`, or null when absent or expired. */
  get(key: string): Promise<string | null>;
  /**
   * Writes `value`. Without `ttlMs` any previous expiry is cleared (as Redis `SET` does).
   * Resolves to false only when `onlyIfAbsent` is set and the key exists.
   */
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;
  /** Deletes `key`; true when it existed. */
  del(key: string): Promise<boolean>;
  /**
   * Atomically adds `by` to the integer at `key` (absent counts as 0) and resolves to the new
   * value. `ttlMs` applies only when this call creates the key, so a fixed-window counter
   * expires on schedule however often it is bumped.
   *
   * @throws AppError `invalid_argument` when the stored value is not an integer.
   */
  incr(key: string, options?: IncrOptions): Promise<number>;
  /** Milliseconds until `key` expires; null when the key is absent or has no expiry. */
  ttlMs(key: string): Promise<number | null>;
  /** Sends `message` to every current subscriber of `channel`, in this and other collectors. */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Calls `handler` for each later message on `channel`; resolves once the subscription is
   * active, so a message published after that is delivered.
   */
  subscribe(channel: string, handler: MessageHandler): Promise<Unsubscribe>;
  /** Ends subscriptions and connections; later calls fail as `unavailable`. */
  close(): Promise<void>;
}

/** Options shared by both implementations. */
export interface KvOptions {
  /** Namespace for keys and channels; `pcapfleet:` when absent. */
  readonly prefix?: string;
  /** Receives handler exceptions and connection trouble; silent when absent. */
  readonly log?: Logger;
}

/** The prefix used when none is given. */
export const defaultKvPrefix = "pcapfleet:";

/** Rejects TTLs Redis would reject, so both stores fail alike. */
export function checkTtl(ttlMs: number | undefined): void {
  if (ttlMs !== undefined && !(Number.isSafeInteger(ttlMs) && ttlMs > 0)) {
    throw new AppError(ErrorCode.InvalidArgument, `kv: ttlMs must be a positive integer, got ${ttlMs}`);
  }
}

/** Rejects increments that are not safe integers. */
export function checkIncrement(by: number): void {
  if (!Number.isSafeInteger(by)) {
    throw new AppError(ErrorCode.InvalidArgument, `kv: increment must be a safe integer, got ${by}`);
  }
}

/** The error for a stored value `incr` cannot add to. */
export function notAnInteger(key: string): AppError {
  return new AppError(ErrorCode.InvalidArgument, `kv: value of ${key} is not an integer or out of range`);
}

/** The error for any use of a store after `close()`. */
export function kvClosed(kind: KvKind): AppError {
  return new AppError(ErrorCode.Unavailable, `kv (${kind}) is closed`);
}

/** Calls a subscriber's handler, keeping its exceptions away from the delivery loop. */
export function deliver(handler: MessageHandler, message: string, channel: string, log?: Logger): void {
  try {
    handler(message);
  } catch (error) {
    log?.error({ err: error, channel }, "kv: subscriber handler threw");
  }
}
