import type { Logger } from "@pcapfleet/core";
import type { Db } from "../db/index.js";
import { createUserStore } from "../users/user-store.js";
import { defaultScryptParams, hashPassword, randomPassword, type ScryptParams } from "./password.js";

/** Options of {@link ensureAdmin}. */
export interface EnsureAdminOptions {
  readonly db: Db;
  readonly log: Logger;
  /** Password for the new admin (`PCAPFLEET_ADMIN_PASSWORD`); random when absent. */
  readonly password?: string | undefined;
  readonly scrypt?: ScryptParams;
}

/** What {@link ensureAdmin} did. */
export interface EnsureAdminResult {
  readonly created: boolean;
  /** The generated password, only when one was generated (for the demo's `Login:` line). */
  readonly generatedPassword?: string;
}

/**
 * First start: creates the local user `admin` when it does not exist, with the given password
 * or a random one written once to the log (in the message text, which redaction does not touch,
 * since the operator needs to read it). Does nothing when `admin` exists.
 */
export async function ensureAdmin(options: EnsureAdminOptions): Promise<EnsureAdminResult> {
  const users = createUserStore(options.db);
  if ((await users.find("admin")) !== null) return { created: false };
  const password = options.password ?? randomPassword();
  const created = await users.createIfAbsent({
    username: "admin",
    passwordHash: await hashPassword(password, options.scrypt ?? defaultScryptParams),
    role: "admin",
    source: "local",
  });
  // Another collector may have created it between the check and the insert: then nothing to say.
  if (!created) return { created: false };
  if (options.password !== undefined) {
    options.log.info("first start: created user admin with the configured password");
    return { created: true };
  }
  options.log.warn(`first start: created user admin with generated password: ${password}`);
  return { created: true, generatedPassword: password };
}
