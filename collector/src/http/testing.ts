import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Logger } from "@pcapfleet/core";
import { type AuthConfig, authConfigSchema } from "../auth/config.js";
import { hashPassword } from "../auth/password.js";
import { type AuthService, createAuthService, type TokenPair } from "../auth/service.js";
import { type Db, migrate } from "../db/index.js";
import { type DbBackend, type ScratchDb, silentLogger } from "../db/testing.js";
import type { Kv } from "../kv/index.js";
import type { KvBackend, ScratchKv } from "../kv/testing.js";
import type { Role } from "../users/types.js";
import { type AppDeps, createApp } from "./app.js";
import type { AppEnv } from "./types.js";

/**
 * Test support for the HTTP, auth and users suites: a scratch database with `sql/002_users.sql`
 * applied (alone, so these suites do not depend on other migrations), a scratch key-value
 * namespace, an auth service with a cheap scrypt cost and a settable clock, and the app.
 */

/** scrypt cost for tests: fast, still real scrypt. */
export const testScrypt = { N: 1024, r: 8, p: 1 } as const;

/** Password of every user made by {@link Harness.addUser}. */
export const testPassword = "correct horse battery";

/** One app on scratch backends. */
export interface Harness {
  readonly scratch: ScratchDb;
  readonly kvScratch: ScratchKv;
  readonly auth: AuthService;
  readonly app: OpenAPIHono<AppEnv>;
  /** Moves the auth clock (token issue and expiry) by `ms`. */
  advance(ms: number): void;
  /** Inserts a local user with {@link testPassword}. */
  addUser(username: string, role: Role, disabled?: boolean): Promise<void>;
  /** A session for `username` without the login route (no scrypt, no rate limit). */
  tokens(username: string): Promise<TokenPair>;
  /** JSON request helper; `token` becomes a Bearer header. */
  call(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
  /** Another collector on the same database and key-value store (own handles, own app). */
  second(): Promise<OpenAPIHono<AppEnv>>;
  close(): Promise<void>;
}

/** Options of {@link createHarness}. */
export interface HarnessOptions {
  readonly config?: Partial<AuthConfig>;
  readonly app?: Partial<Omit<AppDeps, "db" | "auth">>;
  readonly log?: Logger;
}

const sqlDir = join(dirname(fileURLToPath(import.meta.url)), "../../../sql");

/** Applies only `sql/002_users.sql` to `scratch`. */
export async function migrateUsers(scratch: ScratchDb, log: Logger): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "pcapfleet-users-sql-"));
  try {
    await copyFile(join(sqlDir, "002_users.sql"), join(dir, "002_users.sql"));
    await migrate(scratch.db, dir, { log });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The JSON body of a response, for tests (the caller asserts the shape with `expect`). */
export async function json<T = ErrorBody>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** The `{code, message}` body of every error. */
export interface ErrorBody {
  readonly code: string;
  readonly message: string;
}

/** Builds a {@link Harness} on one database backend and one key-value backend. */
export async function createHarness(
  db: DbBackend,
  kv: KvBackend,
  options: HarnessOptions = {},
): Promise<Harness> {
  const log = options.log ?? silentLogger();
  const scratch = await db.create();
  const kvScratch = await kv.create();
  await migrateUsers(scratch, log);
  let offset = 0;
  const config = authConfigSchema.parse({ ...options.config });
  const build = async (handles: { db: Db; kv: Kv }) => {
    const auth = await createAuthService({
      ...handles,
      log,
      config,
      now: () => Date.now() + offset,
      scrypt: testScrypt,
    });
    return { auth, app: createApp({ log, db: handles.db, auth, ...options.app }) };
  };
  const { auth, app } = await build({ db: scratch.db, kv: kvScratch.kv });
  return {
    scratch,
    kvScratch,
    auth,
    app,
    advance: (ms) => {
      offset += ms;
    },
    async addUser(username, role, disabled = false) {
      await scratch.db.query(
        "INSERT INTO users (username, password_hash, role, source, disabled) VALUES ($1, $2, $3, 'local', $4)",
        [username, await hashPassword(testPassword, testScrypt), role, disabled],
      );
    },
    async tokens(username) {
      const user = await auth.users.find(username);
      if (user === null) throw new Error(`no user ${username}`);
      return auth.startSession(user, { ip: "127.0.0.1", userAgent: "test" });
    },
    call(method, path, callOptions = {}) {
      const headers: Record<string, string> = { ...callOptions.headers };
      if (callOptions.token !== undefined) headers["authorization"] = `Bearer ${callOptions.token}`;
      let body: string | undefined;
      if (callOptions.body !== undefined) {
        body = typeof callOptions.body === "string" ? callOptions.body : JSON.stringify(callOptions.body);
        headers["content-type"] ??= "application/json";
      }
      return Promise.resolve(app.request(path, { method, headers, ...(body === undefined ? {} : { body }) }));
    },
    async second() {
      return (await build({ db: await scratch.openAnother(), kv: await kvScratch.open() })).app;
    },
    async close() {
      await kvScratch.drop();
      await scratch.drop();
    },
  };
}
