import { AppError, ErrorCode } from "@pcapfleet/core";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/types.js";
import { hasRole } from "../users/types.js";
import type { PermissionCheck, PermissionIndex, RuleName } from "./permissions.js";
import type { AuthService } from "./service.js";

/** Options of {@link authorize}. */
export interface AuthorizeOptions {
  readonly auth: AuthService;
  readonly permissions: PermissionIndex;
  /** Checks of the special rules, supplied by the modules that own them. */
  readonly rules: Partial<Record<RuleName, PermissionCheck>>;
}

/** Extracts the token of an `Authorization: Bearer <token>` header. */
function bearer(header: string | undefined): string {
  const match = header === undefined ? null : /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim());
  if (match?.[1] === undefined) throw new AppError(ErrorCode.Unauthenticated, "bearer token required");
  return match[1];
}

/**
 * Enforces the permission table on every request: public routes pass; others need a valid,
 * unrevoked access token (401) of a sufficient role (403) and their special rule (403).
 * Requests without an entry fall through to the not-found handler.
 */
export function authorize(options: AuthorizeOptions): MiddlewareHandler<AppEnv> {
  return async function authorizeMiddleware(c, next) {
    const entry = options.permissions.find(c.req.method, c.req.path);
    if (entry === undefined || entry.access === "public") return next();
    const user = await options.auth.authenticate(bearer(c.req.header("authorization")));
    c.set("user", user);
    c.set("log", c.get("log").child({ user: user.username }));
    if (!hasRole(user.role, entry.access)) {
      throw new AppError(ErrorCode.PermissionDenied, `requires role ${entry.access}`);
    }
    if (entry.rule !== undefined) {
      const check = options.rules[entry.rule];
      // createApp refuses to build without the check, so a missing one here is a bug: deny.
      if (check === undefined || !(await check(c, user))) {
        throw new AppError(ErrorCode.PermissionDenied, "not allowed for this resource");
      }
    }
    return next();
  };
}
