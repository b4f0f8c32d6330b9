import { AppError, ErrorCode } from "@pcapfleet/core";
import type { Kv } from "../kv/index.js";

/**
 * Failed-login limits per username and per client IP: fixed-window counters in the shared
 * key-value store (so several collectors count together). While a counter is at its limit,
 * every attempt is refused with `rate_limited` and a Retry-After, before the password is checked.
 */

/** Limits of {@link createLoginLimiter}. */
export interface LoginLimits {
  readonly maxPerUser: number;
  readonly maxPerIp: number;
  readonly windowMs: number;
}

/** Counts failed logins and refuses attempts over the limits. */
export interface LoginLimiter {
  /** @throws AppError `rate_limited` with `details.retryAfterSeconds` when over a limit. */
  check(username: string, ip: string): Promise<void>;
  recordFailure(username: string, ip: string): Promise<void>;
  /** Clears the per-user counter after a successful login. */
  reset(username: string): Promise<void>;
}

// Lower-cased so "Admin" and "admin" share a budget whatever the store's collation.
const userKey = (username: string): string => `auth:fail:user:${username.toLowerCase()}`;
const ipKey = (ip: string): string => `auth:fail:ip:${ip}`;

/** Creates a {@link LoginLimiter} over `kv`. */
export function createLoginLimiter(kv: Kv, limits: LoginLimits): LoginLimiter {
  async function over(key: string, max: number): Promise<number | null> {
    const count = Number((await kv.get(key)) ?? "0");
    if (count < max) return null;
    const ttl = (await kv.ttlMs(key)) ?? limits.windowMs;
    return Math.max(1, Math.ceil(ttl / 1000));
  }

  return {
    async check(username, ip) {
      const wait =
        (await over(userKey(username), limits.maxPerUser)) ?? (await over(ipKey(ip), limits.maxPerIp));
      if (wait !== null) {
        throw new AppError(ErrorCode.RateLimited, `too many failed logins; retry in ${wait} s`, {
          details: { retryAfterSeconds: wait },
        });
      }
    },
    async recordFailure(username, ip) {
      await kv.incr(userKey(username), { ttlMs: limits.windowMs });
      await kv.incr(ipKey(ip), { ttlMs: limits.windowMs });
    },
    async reset(username) {
      await kv.del(userKey(username));
    },
  };
}
