import type { Kv } from "../kv/index.js";

/**
 * Revoked sessions, kept in the shared key-value store so a logout on one collector holds on
 * every collector at once. An entry only has to outlive the access tokens of the session (after
 * that they expire anyway, and refresh checks the database), so it carries a TTL.
 */

/** The revocation list checked by the auth middleware on every request. */
export interface RevocationList {
  revoke(sessionId: string): Promise<void>;
  isRevoked(sessionId: string): Promise<boolean>;
}

const keyOf = (sessionId: string): string => `auth:revoked:${sessionId}`;

/** Creates a {@link RevocationList}; entries live `ttlMs` (access token lifetime plus slack). */
export function createRevocationList(kv: Kv, ttlMs: number): RevocationList {
  return {
    async revoke(sessionId) {
      await kv.set(keyOf(sessionId), "1", { ttlMs });
    },
    async isRevoked(sessionId) {
      return (await kv.get(keyOf(sessionId))) !== null;
    },
  };
}
