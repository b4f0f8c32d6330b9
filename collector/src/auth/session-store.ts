import { createHash } from "node:crypto";
import type { Db } from "../db/index.js";
import type { Role } from "../users/types.js";

/**
 * The `user_sessions` table: one row per login, holding the hash of the one refresh token of
 * that family that may still be used. Rotation swaps the hash under a row lock, so two
 * concurrent refreshes with one token cannot both succeed.
 */

/** sha256 hex of a refresh token id; the plain id is never stored. */
export function tokenHash(tokenId: string): string {
  return createHash("sha256").update(tokenId).digest("hex");
}

/** Fields of a new session. */
export interface NewSession {
  readonly id: string;
  readonly userId: number;
  readonly tokenId: string;
  readonly expiresAt: Date;
  readonly userAgent: string | null;
  readonly ip: string | null;
}

/** Outcome of {@link SessionStore.rotate}. */
export type RotateResult =
  | { readonly kind: "rotated"; readonly username: string; readonly role: Role; readonly userId: number }
  /** The presented token was already spent: the family is now revoked. */
  | { readonly kind: "reused" }
  | { readonly kind: "revoked" | "expired" | "missing" | "disabled" };

/** Access to `user_sessions`. */
export interface SessionStore {
  create(session: NewSession): Promise<void>;
  /**
   * Replaces the current token of `sessionId` by `nextTokenId` when `tokenId` is the current
   * one; revokes the session when it is a spent one.
   */
  rotate(
    sessionId: string,
    tokenId: string,
    nextTokenId: string,
    expiresAt: Date,
    now: Date,
  ): Promise<RotateResult>;
  /** Revokes one session; false when it was absent or already revoked. */
  revoke(sessionId: string, reason: string, now: Date): Promise<boolean>;
  /** Revokes every live session of a user and returns their ids. */
  revokeAllForUser(userId: number, reason: string, now: Date): Promise<string[]>;
}

interface LockedRow {
  current_token_hash: string;
  expires_at: Date;
  revoked_at: Date | null;
  user_id: number;
  username: string;
  role: Role;
  disabled: boolean;
}

/** Creates the {@link SessionStore} over `db`. */
export function createSessionStore(db: Db): SessionStore {
  return {
    async create(session) {
      await db.query(
        `INSERT INTO user_sessions (id, user_id, current_token_hash, expires_at, user_agent, ip)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          session.id,
          session.userId,
          tokenHash(session.tokenId),
          session.expiresAt,
          session.userAgent,
          session.ip,
        ],
      );
    },
    rotate: (sessionId, tokenId, nextTokenId, expiresAt, now) =>
      db.transaction(async (tx): Promise<RotateResult> => {
        const { rows } = await tx.query<LockedRow>(
          `SELECT s.current_token_hash, s.expires_at, s.revoked_at, u.id AS user_id, u.username, u.role,
                  u.disabled
           FROM user_sessions s JOIN users u ON u.id = s.user_id
           WHERE s.id = $1 FOR UPDATE OF s`,
          [sessionId],
        );
        const row = rows[0];
        if (row === undefined) return { kind: "missing" };
        if (row.revoked_at !== null) return { kind: "revoked" };
        if (row.current_token_hash !== tokenHash(tokenId)) {
          await tx.query(
            "UPDATE user_sessions SET revoked_at = $2, revoke_reason = 'refresh token reuse' WHERE id = $1",
            [sessionId, now],
          );
          return { kind: "reused" };
        }
        if (row.expires_at.getTime() <= now.getTime()) return { kind: "expired" };
        if (row.disabled) return { kind: "disabled" };
        await tx.query(
          "UPDATE user_sessions SET current_token_hash = $2, expires_at = $3, rotated_at = $4 WHERE id = $1",
          [sessionId, tokenHash(nextTokenId), expiresAt, now],
        );
        return { kind: "rotated", username: row.username, role: row.role, userId: row.user_id };
      }),
    async revoke(sessionId, reason, now) {
      const { rowCount } = await db.query(
        "UPDATE user_sessions SET revoked_at = $2, revoke_reason = $3 WHERE id = $1 AND revoked_at IS NULL",
        [sessionId, now, reason],
      );
      return rowCount === 1;
    },
    async revokeAllForUser(userId, reason, now) {
      const { rows } = await db.query<{ id: string }>(
        `UPDATE user_sessions SET revoked_at = $2, revoke_reason = $3
         WHERE user_id = $1 AND revoked_at IS NULL RETURNING id`,
        [userId, now, reason],
      );
      return rows.map((row) => row.id);
    },
  };
}
