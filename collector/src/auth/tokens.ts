import { randomUUID } from "node:crypto";
import { AppError, ErrorCode } from "@pcapfleet/core";
import { type JWTPayload, jwtVerify, SignJWT } from "jose";
import { type Role, roles } from "../users/types.js";
import type { SigningKey } from "./config.js";

/**
 * Access and refresh tokens: JWTs signed with HS256 under a key id. The first key signs, every
 * key verifies, so a key is rotated by prepending a new one and dropping the old one after the
 * refresh lifetime. Only HS256 is accepted, which also rules out `alg: none`.
 */

/** What an access token says about its bearer. */
export interface AccessClaims {
  readonly username: string;
  readonly role: Role;
  /** Session (refresh-token family) id, the unit of revocation. */
  readonly sessionId: string;
  /** Expiry, epoch seconds. */
  readonly expiresAt: number;
}

/** What a refresh token carries. */
export interface RefreshClaims {
  readonly username: string;
  readonly sessionId: string;
  /** Unique per token; its hash is the session's current token. */
  readonly tokenId: string;
  readonly expiresAt: number;
}

/** Signs and verifies tokens with a fixed key set and clock. */
export interface TokenSigner {
  signAccess(claims: Omit<AccessClaims, "expiresAt">): Promise<{ token: string; expiresAt: number }>;
  signRefresh(claims: Omit<RefreshClaims, "expiresAt" | "tokenId">): Promise<{
    token: string;
    tokenId: string;
    expiresAt: number;
  }>;
  /** @throws AppError `unauthenticated` for any token that does not verify. */
  verifyAccess(token: string): Promise<AccessClaims>;
  /** @throws AppError `unauthenticated` for any token that does not verify. */
  verifyRefresh(token: string): Promise<RefreshClaims>;
}

/** Options of {@link createTokenSigner}. */
export interface TokenSignerOptions {
  readonly keys: readonly SigningKey[];
  readonly accessTtlSeconds: number;
  readonly refreshTtlSeconds: number;
  /** Current time in epoch milliseconds; injectable so tests can expire tokens. */
  readonly now: () => number;
}

const issuer = "pcapfleet";
const encoder = new TextEncoder();

function unauthenticated(message: string, cause?: unknown): AppError {
  return new AppError(ErrorCode.Unauthenticated, message, cause === undefined ? {} : { cause });
}

/** Creates a {@link TokenSigner}. */
export function createTokenSigner(options: TokenSignerOptions): TokenSigner {
  const signing = options.keys[0];
  if (signing === undefined) throw new AppError(ErrorCode.Internal, "auth: no signing key");
  const secrets = new Map(options.keys.map((key) => [key.kid, encoder.encode(key.secret)]));
  const signingSecret = encoder.encode(signing.secret);
  const nowSeconds = (): number => Math.floor(options.now() / 1000);

  async function sign(
    payload: JWTPayload,
    type: string,
    ttl: number,
  ): Promise<{ token: string; exp: number }> {
    const iat = nowSeconds();
    const exp = iat + ttl;
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: "HS256", kid: signing?.kid ?? "", typ: type })
      .setIssuer(issuer)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(signingSecret);
    return { token, exp };
  }

  async function verify(token: string, type: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(
        token,
        (header) => {
          const secret = header.kid === undefined ? undefined : secrets.get(header.kid);
          if (secret === undefined) throw unauthenticated("token signed with an unknown key");
          return secret;
        },
        { algorithms: ["HS256"], issuer, typ: type, currentDate: new Date(options.now()), clockTolerance: 0 },
      );
      return payload;
    } catch (error) {
      if (error instanceof AppError) throw error;
      const code = (error as { code?: unknown }).code;
      const message = code === "ERR_JWT_EXPIRED" ? "token expired" : "invalid token";
      throw unauthenticated(message, error);
    }
  }

  function stringClaim(payload: JWTPayload, name: string): string {
    const value = payload[name];
    if (typeof value !== "string" || value === "") throw unauthenticated(`token lacks ${name}`);
    return value;
  }

  return {
    async signAccess(claims) {
      const { token, exp } = await sign(
        { sub: claims.username, role: claims.role, sid: claims.sessionId },
        "at+jwt",
        options.accessTtlSeconds,
      );
      return { token, expiresAt: exp };
    },
    async signRefresh(claims) {
      const tokenId = randomUUID();
      const { token, exp } = await sign(
        { sub: claims.username, sid: claims.sessionId, rti: tokenId },
        "rt+jwt",
        options.refreshTtlSeconds,
      );
      return { token, tokenId, expiresAt: exp };
    },
    async verifyAccess(token) {
      const payload = await verify(token, "at+jwt");
      const role = stringClaim(payload, "role");
      if (!(roles as readonly string[]).includes(role)) throw unauthenticated("token has an unknown role");
      return {
        username: stringClaim(payload, "sub"),
        role: role as Role,
        sessionId: stringClaim(payload, "sid"),
        expiresAt: payload.exp ?? 0,
      };
    },
    async verifyRefresh(token) {
      const payload = await verify(token, "rt+jwt");
      return {
        username: stringClaim(payload, "sub"),
        sessionId: stringClaim(payload, "sid"),
        tokenId: stringClaim(payload, "rti"),
        expiresAt: payload.exp ?? 0,
      };
    },
  };
}
