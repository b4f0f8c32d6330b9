import { AppError, ErrorCode } from "@pcapfleet/core";
import { Redis, type RedisOptions } from "ioredis";
import {
  checkIncrement,
  checkTtl,
  defaultKvPrefix,
  deliver,
  type Kv,
  type KvOptions,
  kvClosed,
  type MessageHandler,
  notAnInteger,
  type Unsubscribe,
} from "./types.js";

/** Options of {@link createRedisKv}. */
export interface RedisKvOptions extends KvOptions {
  /** How long the first connection may take before failing as `unavailable`. */
  readonly connectTimeoutMs?: number;
}

/** `host:port` of a Redis URL, for messages: the URL itself may carry a password. */
function describe(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || "6379"}`;
  } catch {
    return "(unparsable REDIS_URL)";
  }
}

const networkCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EPIPE"]);

/** Maps what ioredis throws to an AppError: bad stored values, lost connections, the rest. */
function toKvError(reason: unknown, where: string): AppError {
  if (reason instanceof AppError) return reason;
  if (!(reason instanceof Error)) return AppError.from(reason);
  const errno = (reason as NodeJS.ErrnoException).code;
  if (
    reason.name === "MaxRetriesPerRequestError" ||
    (errno !== undefined && networkCodes.has(errno)) ||
    /Connection is closed|Stream isn't writeable|Command timed out/i.test(reason.message)
  ) {
    return new AppError(
      ErrorCode.Unavailable,
      `Redis at ${where} is unavailable: ${errno ?? reason.message}`,
      {
        cause: reason,
      },
    );
  }
  return AppError.from(reason);
}

/**
 * Connects to Redis and checks the connection before resolving, so a wrong URL or a down
 * server fails at start as an `unavailable` AppError instead of hanging.
 *
 * Until the first connection succeeds nothing is retried; after that, ioredis reconnects with a
 * capped backoff, and each command waits for at most two reconnect attempts before failing as
 * `unavailable` rather than queueing forever.
 */
export async function createRedisKv(url: string, options: RedisKvOptions = {}): Promise<Kv> {
  const prefix = options.prefix ?? defaultKvPrefix;
  const log = options.log;
  const where = describe(url);
  let connected = false;
  let closed = false;
  // `satisfies`, not an annotation: RedisOptions widens `replyMapping`, which then matches no
  // constructor overload of the default (RESP2-style) client.
  const settings = {
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 3_000,
    maxRetriesPerRequest: 2,
    // null stops retrying: during the first connect that turns "down" into a prompt error.
    retryStrategy: (times: number) => (connected && !closed ? Math.min(times * 200, 2_000) : null),
  } satisfies RedisOptions;
  const client = new Redis(url, settings);
  // ioredis reports socket trouble as events; without a listener it prints to stderr itself.
  const onError = (error: Error) => {
    if (connected && !closed) log?.warn({ err: error, redis: where }, "redis: connection error");
  };
  client.on("error", onError);
  try {
    await client.connect();
    connected = true;
  } catch (reason) {
    client.disconnect();
    const why =
      (reason as NodeJS.ErrnoException).code ?? (reason instanceof Error ? reason.message : String(reason));
    throw new AppError(ErrorCode.Unavailable, `cannot connect to Redis at ${where}: ${why}`, {
      cause: reason,
    });
  }

  /** Subscriber mode takes a connection over, so pub/sub gets its own, opened on first use. */
  let subscriber: Redis | undefined;
  let subscriberReady: Promise<Redis> | undefined;
  const channels = new Map<string, { handlers: Map<symbol, MessageHandler>; ready: Promise<unknown> }>();

  function subscriberConnection(): Promise<Redis> {
    // One promise, so concurrent first subscribers share one connection; cleared on failure so
    // a later subscribe tries again.
    subscriberReady ??= (async () => {
      const connection = client.duplicate();
      connection.on("error", onError);
      connection.on("message", (channel: string, message: string) => {
        const state = channels.get(channel);
        if (state === undefined) return;
        for (const handler of [...state.handlers.values()]) {
          deliver(handler, message, channel.slice(prefix.length), log);
        }
      });
      subscriber = connection;
      try {
        await connection.connect();
      } catch (error) {
        subscriber = undefined;
        subscriberReady = undefined;
        connection.disconnect();
        throw error;
      }
      return connection;
    })();
    return subscriberReady;
  }

  /** Runs one command, refusing after close and mapping ioredis errors. */
  async function command<T>(run: () => Promise<T>): Promise<T> {
    if (closed) throw kvClosed("redis");
    try {
      return await run();
    } catch (reason) {
      throw toKvError(reason, where);
    }
  }

  async function incr(key: string, by: number, ttlMs: number | undefined): Promise<number> {
    if (ttlMs === undefined) return client.incrby(prefix + key, by);
    // MULTI makes "create with a TTL, then add" one atomic step: SET NX only acts when the key
    // is absent, so the TTL is set exactly when this call creates the key.
    const replies = await client
      .multi()
      .set(prefix + key, "0", "PX", ttlMs, "NX")
      .incrby(prefix + key, by)
      .exec();
    const reply = replies?.[1];
    if (reply === undefined) throw new AppError(ErrorCode.Internal, "redis: MULTI for incr was aborted");
    if (reply[0] !== null) throw reply[0];
    return Number(reply[1]);
  }

  return {
    kind: "redis",
    prefix,
    get: (key) => command(() => client.get(prefix + key)),
    set: (key, value, setOptions = {}) =>
      command(async () => {
        checkTtl(setOptions.ttlMs);
        const { ttlMs, onlyIfAbsent } = setOptions;
        const full = prefix + key;
        if (onlyIfAbsent === true) {
          const reply =
            ttlMs === undefined
              ? await client.set(full, value, "NX")
              : await client.set(full, value, "PX", ttlMs, "NX");
          return reply === "OK";
        }
        await (ttlMs === undefined ? client.set(full, value) : client.set(full, value, "PX", ttlMs));
        return true;
      }),
    del: (key) => command(async () => (await client.del(prefix + key)) > 0),
    incr: (key, incrOptions = {}) =>
      command(async () => {
        const by = incrOptions.by ?? 1;
        checkIncrement(by);
        checkTtl(incrOptions.ttlMs);
        try {
          return await incr(key, by, incrOptions.ttlMs);
        } catch (reason) {
          if (reason instanceof Error && /not an integer|overflow/i.test(reason.message))
            throw notAnInteger(key);
          throw reason;
        }
      }),
    ttlMs: (key) =>
      command(async () => {
        // -2: no such key; -1: no expiry.
        const remaining = await client.pttl(prefix + key);
        return remaining < 0 ? null : remaining;
      }),
    publish: (channel, message) =>
      command(async () => {
        await client.publish(prefix + channel, message);
      }),
    subscribe: (channel, handler) =>
      command(async (): Promise<Unsubscribe> => {
        const full = prefix + channel;
        const connection = await subscriberConnection();
        let state = channels.get(full);
        if (state === undefined) {
          state = { handlers: new Map(), ready: connection.subscribe(full) };
          channels.set(full, state);
        }
        const token = Symbol(channel);
        state.handlers.set(token, handler);
        // A second subscriber of a channel still waits for the first SUBSCRIBE to be confirmed.
        await state.ready;
        const subscribed = state;
        return async () => {
          subscribed.handlers.delete(token);
          if (subscribed.handlers.size > 0 || channels.get(full) !== subscribed) return;
          channels.delete(full);
          if (!closed)
            await connection.unsubscribe(full).catch((error: unknown) => onError(toKvError(error, where)));
        };
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      channels.clear();
      await Promise.all(
        [client, subscriber].map((connection) => connection?.quit().catch(() => connection.disconnect())),
      );
    },
  };
}
