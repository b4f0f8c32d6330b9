import { OpenAPIHono } from "@hono/zod-openapi";
import { AppError, ErrorCode, type Logger } from "@pcapfleet/core";
import type { Context } from "hono";
import type { PermissionEntry } from "../auth/permissions.js";
import type { AuthUser } from "../auth/service.js";
import { validationHook } from "./errors.js";

/** Per-request values every handler can read with `c.get(...)`. */
export interface AppVariables {
  /** The request id (incoming `X-Request-Id` when sane, else a fresh UUID); echoed in the response. */
  requestId: string;
  /** Child logger carrying the request id. */
  log: Logger;
  /** Client address (socket, or X-Forwarded-For behind a trusted proxy). */
  clientIp: string;
  /** The authenticated caller; set on every route that is not public. */
  user: AuthUser | undefined;
}

/** The Hono environment of the collector's HTTP app. */
export interface AppEnv {
  Variables: AppVariables;
}

/**
 * A feature's routes, mounted under `/api/v1`, with the permission entries of those routes
 * (paths relative to `/api/v1`). Sensors, jobs and network modules plug in this way.
 */
export interface RouteModule {
  readonly routes: OpenAPIHono<AppEnv>;
  readonly permissions?: readonly PermissionEntry[];
}

/**
 * A router for a route module, with the app's validation hook, so zod failures render as
 * `{code, message}` 400s even before the router is mounted.
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

/** The caller of a non-public route; `unauthenticated` if the middleware did not set one. */
export function requireUser(c: Context<AppEnv>): AuthUser {
  const user = c.get("user");
  if (user === undefined) throw new AppError(ErrorCode.Unauthenticated, "authentication required");
  return user;
}

/** Where a request came from, for sessions, rate limits and the audit log. */
export function clientMeta(c: Context<AppEnv>): { ip: string; userAgent: string | null } {
  return { ip: c.get("clientIp"), userAgent: c.req.header("user-agent") ?? null };
}
