/**
 * The collector's key-value layer: one {@link Kv} interface over Redis or an in-process store
 * with the same semantics (TTLs, atomic counters, prefixed keys, pub/sub).
 */
export { createMemoryKv, type MemoryKvOptions, MemoryKvStore } from "./memory.js";
export { type OpenKvOptions, openKv } from "./open.js";
export { createRedisKv, type RedisKvOptions } from "./redis.js";
export {
  defaultKvPrefix,
  type IncrOptions,
  type Kv,
  type KvKind,
  type KvOptions,
  type MessageHandler,
  type SetOptions,
  type Unsubscribe,
} from "./types.js";
