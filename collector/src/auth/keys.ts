import { randomBytes } from "node:crypto";
import type { Logger } from "@pcapfleet/core";
import type { Db } from "../db/index.js";
import type { SigningKey } from "./config.js";

/**
 * Where signing keys come from: the configuration when it names any, else one key generated at
 * first start and kept in `auth_signing_keys`, so restarts and other collectors on the same
 * database keep accepting issued tokens.
 */

/** Key id of the generated key. Fixed, so concurrent first starts insert one row, not two. */
export const generatedKid = "generated-1";

/** The configured keys, or the stored (created on first call) generated key. */
export async function resolveSigningKeys(
  db: Db,
  configured: readonly SigningKey[],
  log: Logger,
): Promise<SigningKey[]> {
  if (configured.length > 0) return [...configured];
  const secret = randomBytes(32).toString("base64url");
  const inserted = await db.query(
    "INSERT INTO auth_signing_keys (kid, secret) VALUES ($1, $2) ON CONFLICT (kid) DO NOTHING",
    [generatedKid, secret],
  );
  if (inserted.rowCount === 1) log.info({ kid: generatedKid }, "auth: generated a token signing key");
  const { rows } = await db.query<{ kid: string; secret: string }>(
    "SELECT kid, secret FROM auth_signing_keys ORDER BY created_at DESC, kid",
  );
  return rows.map((row) => ({ kid: row.kid, secret: row.secret }));
}
