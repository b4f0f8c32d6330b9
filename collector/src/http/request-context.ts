import { randomUUID } from "node:crypto";
import type { Logger } from "@pcapfleet/core";
import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { AppEnv } from "./types.js";

/** One finished request, for the latency histogram (metrics are wired by their own module). */
export interface RequestTiming {
  readonly method: string;
  /** The matched route pattern (`/api/v1/admin/users/:name`), so label cardinality stays bounded. */
  readonly route: string;
  readonly status: number;
  readonly durationMs: number;
}

/** Receives every finished request. Must not throw; exceptions are logged and dropped. */
export type LatencyHook = (timing: RequestTiming) => void;

/** Options of {@link requestContext}. */
export interface RequestContextOptions {
  readonly log: Logger;
  readonly onRequestTimed?: LatencyHook | undefined;
}

// An incoming id is trusted only when short and plain, so it cannot inject into logs.
const saneRequestId = /^[A-Za-z0-9._-]{1,64}$/;

/** Sets the request id, the per-request child logger, and reports latency after the response. */
export function requestContext(options: RequestContextOptions): MiddlewareHandler<AppEnv> {
  return async function requestContextMiddleware(c, next) {
    const started = performance.now();
    const incoming = c.req.header("x-request-id");
    const requestId = incoming !== undefined && saneRequestId.test(incoming) ? incoming : randomUUID();
    c.set("requestId", requestId);
    c.set("log", options.log.child({ requestId }));
    c.set("user", undefined);
    await next();
    c.header("X-Request-Id", requestId);
    const hook = options.onRequestTimed;
    if (hook === undefined) return;
    try {
      // The route pattern, not the raw path, so label cardinality stays bounded; "unmatched" for 404s.
      const route = matchedRoutes(c).findLast((r) => r.method !== "ALL")?.path ?? "unmatched";
      hook({ method: c.req.method, route, status: c.res.status, durationMs: performance.now() - started });
    } catch (error) {
      c.get("log").warn({ err: error }, "http: latency hook threw");
    }
  };
}

/** Options of {@link clientAddress}. */
export interface ClientAddressOptions {
  /** Use the first X-Forwarded-For address (only behind a trusted reverse proxy). */
  readonly trustProxy: boolean;
  /** The socket's address; absent under `app.request()` in tests. */
  readonly socketAddress?: ((c: Parameters<MiddlewareHandler<AppEnv>>[0]) => string | undefined) | undefined;
}

/** Sets `clientIp` for sessions, rate limits and the audit log. */
export function clientAddress(options: ClientAddressOptions): MiddlewareHandler<AppEnv> {
  return async function clientAddressMiddleware(c, next) {
    let ip: string | undefined;
    if (options.trustProxy) ip = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
    ip ||= options.socketAddress?.(c);
    c.set("clientIp", ip !== undefined && ip !== "" ? ip.slice(0, 64) : "unknown");
    await next();
  };
}
