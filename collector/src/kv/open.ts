import type { Logger } from "@pcapfleet/core";
import { createMemoryKv } from "./memory.js";
import { createRedisKv } from "./redis.js";
import type { Kv } from "./types.js";

/** Inputs of {@link openKv}. */
export interface OpenKvOptions {
  /** Redis URL; when set, keys live in Redis and pub/sub reaches every collector. */
  readonly redisUrl?: string | undefined;
  /** Namespace for keys and channels; `pcapfleet:` when absent. */
  readonly prefix?: string;
  /** Receives connection trouble and subscriber handler failures. */
  readonly log: Logger;
}

/**
 * Opens the collector's key-value store: Redis when `redisUrl` is set (failing fast as
 * `unavailable` when it cannot be reached), the in-process store otherwise. The URL is never
 * logged, since it may hold a password.
 */
export async function openKv(options: OpenKvOptions): Promise<Kv> {
  const { redisUrl, log } = options;
  const common = { log, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) };
  if (redisUrl !== undefined && redisUrl !== "") {
    const kv = await createRedisKv(redisUrl, common);
    log.info({ backend: kv.kind }, "kv: connected to Redis");
    return kv;
  }
  const kv = createMemoryKv(common);
  log.info({ backend: kv.kind }, "kv: in-process store (single collector)");
  return kv;
}
