/**
 * `GET /api/v1/ws`: the dashboard's live feed. The client authenticates with its access token,
 * either as `?access_token=` or, so the token stays out of URLs and logs, as the WebSocket
 * subprotocol pair `bearer, <token>` (browsers cannot set an Authorization header on a
 * WebSocket). The socket closes when the token expires (code 4001), so a revoked or expired
 * login cannot listen on; the client reconnects with a fresh token. A client that cannot keep up
 * (over 1 MiB unsent) is closed with 1013 rather than buffering without bound.
 */
import { upgradeWebSocket, type WebSocketServerLike } from "@hono/node-server";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import type { Context, MiddlewareHandler } from "hono";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import type { RealtimeHub } from "./hub.js";

/** Who is listening. */
export interface RealtimeUser {
  readonly username: string;
  readonly role: string;
  /** When the token stops being valid; the socket closes then. */
  readonly expiresAt: Date;
}

/** What the route needs. */
export interface RealtimeRouteDeps {
  readonly hub: RealtimeHub;
  /** Verifies an access token; rejects with an `unauthenticated` AppError. */
  readonly authenticate: (token: string) => Promise<RealtimeUser>;
  readonly log: Logger;
  /** Sends a ping this often so proxies keep the connection. Default 30 s. */
  readonly pingMs?: number;
}

/** Unsent bytes above which a client is dropped as too slow. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Close code sent when the access token expires. */
export const CLOSE_TOKEN_EXPIRED = 4001;

/**
 * The WebSocket server to pass to `serve({websocket: {server}})`: it accepts the `bearer`
 * subprotocol the dashboard uses to carry its token.
 */
export function createWebSocketServer(): WebSocketServer & WebSocketServerLike {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024,
    handleProtocols: (protocols) => (protocols.has("bearer") ? "bearer" : false),
  });
  // ws types `options.noServer` as optional-with-undefined, which exactOptionalPropertyTypes
  // keeps apart from node-server's `noServer?: boolean`; the object is the one it expects.
  return wss as WebSocketServer & WebSocketServerLike;
}

/** The token of an upgrade request, from the subprotocol header or the query. */
export function tokenOf(c: Context): string | undefined {
  const protocols = (c.req.header("sec-websocket-protocol") ?? "").split(",").map((part) => part.trim());
  const at = protocols.indexOf("bearer");
  if (at >= 0 && protocols[at + 1] !== undefined && protocols[at + 1] !== "") return protocols[at + 1];
  return c.req.query("access_token") ?? undefined;
}

/** The handlers of `GET /ws`: authentication, then the upgrade. */
export function createRealtimeRoute(deps: RealtimeRouteDeps): [MiddlewareHandler, MiddlewareHandler] {
  const pingMs = deps.pingMs ?? 30_000;
  const authenticateSocket: MiddlewareHandler = async function authenticateSocket(c, next) {
    const token = tokenOf(c);
    if (token === undefined) throw new AppError(ErrorCode.Unauthenticated, "missing access token");
    c.set("realtimeUser" as never, (await deps.authenticate(token)) as never);
    await next();
  };
  const upgrade = upgradeWebSocket((c) => {
    const user = c.get("realtimeUser" as never) as RealtimeUser;
    const log = deps.log.child({ user: user.username, part: "ws" });
    let stop: (() => void) | undefined;
    return {
      onOpen(_event, ws) {
        const timers = [
          setInterval(() => (ws.raw as { ping?: () => void } | undefined)?.ping?.(), pingMs),
          setTimeout(
            () => ws.close(CLOSE_TOKEN_EXPIRED, "token expired"),
            Math.max(0, user.expiresAt.getTime() - Date.now()),
          ),
        ];
        const unsubscribe = deps.hub.subscribe((event) => {
          const buffered = (ws.raw as { bufferedAmount?: number } | undefined)?.bufferedAmount ?? 0;
          if (buffered > MAX_BUFFERED_BYTES) {
            log.warn({ buffered }, "closing a realtime client that does not keep up");
            ws.close(1013, "too slow");
            return;
          }
          ws.send(JSON.stringify(event));
        });
        stop = () => {
          unsubscribe();
          for (const timer of timers) clearTimeout(timer);
        };
        ws.send(JSON.stringify({ type: "hello", user: user.username, role: user.role }));
      },
      onMessage() {
        // The feed is one-way; client messages (pongs aside, handled by ws) are ignored.
      },
      onClose() {
        stop?.();
      },
      onError(event) {
        log.debug({ event: String(event) }, "realtime socket error");
        stop?.();
      },
    };
  });
  return [authenticateSocket, upgrade];
}
