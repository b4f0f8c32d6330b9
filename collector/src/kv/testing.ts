import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { createMemoryKv, MemoryKvStore } from "./memory.js";
import { createRedisKv } from "./redis.js";
import type { Kv, KvKind } from "./types.js";

/**
 * Test support: the key-value backends every KV suite runs on. The in-process store always;
 * Redis too when `REDIS_URL` is set, each scratch namespace being a random prefix whose keys are
 * deleted afterwards. Lives beside the code because a workspace's own tests may only import from
 * its `src`; `tests/support/backends.ts` re-exports it for cross-package tests.
 *
 * ```ts
 * describe.each(kvBackends())("kv on $name", (backend) => {
 *   let scratch: ScratchKv;
 *   beforeEach(async () => { scratch = await backend.create(); });
 *   afterEach(() => scratch.drop());
 * });
 * ```
 */

/** A private namespace on one backend. */
export interface ScratchKv {
  /** A handle on the namespace, opened by `create()`. */
  readonly kv: Kv;
  /**
   * Another handle on the same backend, as a second collector would have: same keys and
   * channels when `namespace` is absent, a separate sub-namespace when given.
   */
  open(namespace?: string): Promise<Kv>;
  /** Closes every handle and deletes every key of the namespace; safe to call twice. */
  drop(): Promise<void>;
}

/** One backend the KV suites run on. */
export interface KvBackend {
  /** `memory` or `redis`; also the test title via `describe.each(...)("$name")`. */
  readonly name: KvKind;
  /** Creates a fresh, empty namespace. */
  create(): Promise<ScratchKv>;
}

function scratchPrefix(): string {
  return `pcapfleet_test_${randomBytes(6).toString("hex")}:`;
}

function memoryBackend(): KvBackend {
  return {
    name: "memory",
    async create() {
      // One store per scratch namespace, shared by its handles like one Redis server.
      const store = new MemoryKvStore();
      const base = scratchPrefix();
      const handles: Kv[] = [];
      const open = async (namespace?: string): Promise<Kv> => {
        const kv = createMemoryKv({ store, prefix: namespace === undefined ? base : `${base}${namespace}:` });
        handles.push(kv);
        return kv;
      };
      const kv = await open();
      return {
        kv,
        open,
        drop: async () => {
          await Promise.all(handles.splice(0).map((handle) => handle.close()));
        },
      };
    },
  };
}

/** Deletes every key under `prefix`, in batches, with SCAN so a shared server is not blocked. */
async function deleteKeys(url: string, prefix: string): Promise<void> {
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  await admin.connect();
  try {
    let cursor = "0";
    do {
      const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      if (keys.length > 0) await admin.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    await admin.quit();
  }
}

function redisBackend(url: string): KvBackend {
  return {
    name: "redis",
    async create() {
      const base = scratchPrefix();
      const handles: Kv[] = [];
      const open = async (namespace?: string): Promise<Kv> => {
        const prefix = namespace === undefined ? base : `${base}${namespace}:`;
        const kv = await createRedisKv(url, { prefix });
        handles.push(kv);
        return kv;
      };
      const kv = await open();
      let dropped = false;
      return {
        kv,
        open,
        drop: async () => {
          if (dropped) return;
          dropped = true;
          await Promise.all(handles.map((handle) => handle.close()));
          await deleteKeys(url, base);
        },
      };
    },
  };
}

/** The backends to run KV suites on: memory always, plus Redis when `env.REDIS_URL` is set. */
export function kvBackends(env: Readonly<Record<string, string | undefined>> = process.env): KvBackend[] {
  const backends = [memoryBackend()];
  const url = env["REDIS_URL"];
  if (url !== undefined && url !== "") backends.push(redisBackend(url));
  return backends;
}
