import { randomUUID } from "node:crypto";
import { AppError, ErrorCode, type Logger } from "@pcapfleet/core";
import type { Db } from "../db/index.js";
import type { Kv } from "../kv/index.js";
import type { Role, UserWithSecret } from "../users/types.js";
import { createUserStore, type UserStore } from "../users/user-store.js";
import type { AuthConfig } from "./config.js";
import { resolveSigningKeys } from "./keys.js";
import { createLdapAuthenticator, type LdapAuthenticator } from "./ldap.js";
import { defaultScryptParams, hashPassword, type ScryptParams, verifyPassword } from "./password.js";
import { createLoginLimiter } from "./rate-limit.js";
import { createRevocationList } from "./revocation.js";
import { createSessionStore } from "./session-store.js";
import { type AccessClaims, createTokenSigner } from "./tokens.js";

/**
 * Login, refresh with rotation and reuse detection, logout, and bearer verification: the one
 * place the token lifecycle lives. Routes and middleware only translate HTTP to these calls.
 */

/** What `/login` and `/refresh` return. */
export interface TokenPair {
  readonly access_token: string;
  readonly refresh_token: string;
  /** Seconds until the access token expires. */
  readonly expires_in: number;
  readonly user: { readonly username: string; readonly role: Role };
}

/** Where a request came from, stored with the session and used for rate limits. */
export interface ClientMeta {
  readonly ip: string;
  readonly userAgent: string | null;
}

/** The authenticated caller of a request. */
export type AuthUser = AccessClaims;

/** The authentication service. */
export interface AuthService {
  /** The validated configuration. */
  readonly config: AuthConfig;
  /** The user table, shared with the admin routes. */
  readonly users: UserStore;
  /** Hashes a password with the configured scrypt cost. */
  hashPassword(password: string): Promise<string>;
  /** @throws `unauthenticated` (wrong credentials, disabled), `rate_limited`, `unavailable` (LDAP). */
  login(username: string, password: string, meta: ClientMeta): Promise<TokenPair>;
  /** Rotates a refresh token. Reuse of a spent token revokes the whole session. */
  refresh(refreshToken: string, meta: ClientMeta): Promise<TokenPair>;
  /** Revokes a session at once, on every collector sharing the key-value store. */
  logout(sessionId: string): Promise<void>;
  /** Revokes every session of a user (disabled, deleted, role or password changed). */
  revokeUserSessions(userId: number, reason: string): Promise<void>;
  /** Marks sessions revoked in the key-value store only (their rows are gone already). */
  revokeSessions(sessionIds: readonly string[]): Promise<void>;
  /** Verifies a bearer access token and that its session is not revoked. */
  authenticate(accessToken: string): Promise<AuthUser>;
  /** Opens a session for an already authenticated user (login, and tests). */
  startSession(user: Pick<UserWithSecret, "id" | "username" | "role">, meta: ClientMeta): Promise<TokenPair>;
}

/** Dependencies of {@link createAuthService}. */
export interface AuthServiceDeps {
  readonly db: Db;
  readonly kv: Kv;
  readonly log: Logger;
  readonly config: AuthConfig;
  /** Epoch milliseconds; injectable so tests can expire tokens. */
  readonly now?: () => number;
  /** scrypt cost; tests lower it. */
  readonly scrypt?: ScryptParams;
  /** Directory login; built from `config.ldap` when absent. */
  readonly ldap?: LdapAuthenticator;
}

const invalidCredentials = (): AppError =>
  new AppError(ErrorCode.Unauthenticated, "invalid username or password");

/** Creates the {@link AuthService}; resolves signing keys (generating one on first start). */
export async function createAuthService(deps: AuthServiceDeps): Promise<AuthService> {
  const { db, kv, log, config } = deps;
  const now = deps.now ?? Date.now;
  const params = deps.scrypt ?? defaultScryptParams;
  const keys = await resolveSigningKeys(db, config.keys, log);
  const signer = createTokenSigner({
    keys,
    accessTtlSeconds: config.accessTtlSeconds,
    refreshTtlSeconds: config.refreshTtlSeconds,
    now,
  });
  const users = createUserStore(db);
  const sessions = createSessionStore(db);
  // Outlive the access tokens of a revoked session, with a minute of slack for clock skew.
  const revocations = createRevocationList(kv, (config.accessTtlSeconds + 60) * 1000);
  const limiter = createLoginLimiter(kv, {
    maxPerUser: config.maxFailuresPerUser,
    maxPerIp: config.maxFailuresPerIp,
    windowMs: config.failureWindowSeconds * 1000,
  });
  const ldap =
    deps.ldap ?? (config.ldap === undefined ? undefined : createLdapAuthenticator(config.ldap, log));
  // Verified against when the user does not exist, so a miss costs as long as a wrong password.
  const decoyHash = await hashPassword("decoy", params);

  async function issue(
    user: { username: string; role: Role },
    sessionId: string,
    refresh: { token: string },
  ): Promise<TokenPair> {
    const access = await signer.signAccess({ username: user.username, role: user.role, sessionId });
    return {
      access_token: access.token,
      refresh_token: refresh.token,
      expires_in: config.accessTtlSeconds,
      user: { username: user.username, role: user.role },
    };
  }

  async function checkCredentials(username: string, password: string): Promise<UserWithSecret | null> {
    const user = await users.find(username);
    if (user !== null && user.source === "local") {
      return (await verifyPassword(password, user.passwordHash ?? "")) ? user : null;
    }
    if (ldap !== undefined) {
      const granted = await ldap.authenticate(username, password);
      return granted === null ? null : users.upsertLdap(username, granted.role);
    }
    await verifyPassword(password, decoyHash);
    return null;
  }

  const service: AuthService = {
    config,
    users,
    hashPassword: (password) => hashPassword(password, params),
    async login(username, password, meta) {
      await limiter.check(username, meta.ip);
      const user = await checkCredentials(username, password);
      if (user === null) {
        await limiter.recordFailure(username, meta.ip);
        throw invalidCredentials();
      }
      if (user.disabled) throw new AppError(ErrorCode.Unauthenticated, "account disabled");
      await limiter.reset(username);
      await users.touchLogin(user.id, new Date(now()));
      return service.startSession(user, meta);
    },
    async startSession(user, meta) {
      const sessionId = randomUUID();
      const refresh = await signer.signRefresh({ username: user.username, sessionId });
      await sessions.create({
        id: sessionId,
        userId: user.id,
        tokenId: refresh.tokenId,
        expiresAt: new Date(refresh.expiresAt * 1000),
        userAgent: meta.userAgent?.slice(0, 512) ?? null,
        ip: meta.ip,
      });
      return issue(user, sessionId, refresh);
    },
    async refresh(refreshToken, _meta) {
      const claims = await signer.verifyRefresh(refreshToken);
      const next = await signer.signRefresh({ username: claims.username, sessionId: claims.sessionId });
      const result = await sessions.rotate(
        claims.sessionId,
        claims.tokenId,
        next.tokenId,
        new Date(next.expiresAt * 1000),
        new Date(now()),
      );
      if (result.kind === "rotated") return issue(result, claims.sessionId, next);
      if (result.kind === "reused") {
        await revocations.revoke(claims.sessionId);
        log.warn({ sessionId: claims.sessionId, username: claims.username }, "auth: refresh token reuse");
        throw new AppError(ErrorCode.Unauthenticated, "refresh token reused; session revoked");
      }
      throw new AppError(ErrorCode.Unauthenticated, `session ${result.kind}`);
    },
    async logout(sessionId) {
      await revocations.revoke(sessionId);
      await sessions.revoke(sessionId, "logout", new Date(now()));
    },
    async revokeUserSessions(userId, reason) {
      const ids = await sessions.revokeAllForUser(userId, reason, new Date(now()));
      await Promise.all(ids.map((id) => revocations.revoke(id)));
    },
    async revokeSessions(sessionIds) {
      await Promise.all(sessionIds.map((id) => revocations.revoke(id)));
    },
    async authenticate(accessToken) {
      const claims = await signer.verifyAccess(accessToken);
      if (await revocations.isRevoked(claims.sessionId)) {
        throw new AppError(ErrorCode.Unauthenticated, "session revoked");
      }
      return claims;
    },
  };
  return service;
}
