import { type ApiClient, ApiError } from "./api-client.js";
import type { RealtimeMessage } from "./api-types.js";

/** State of the live feed, for a "live" indicator. */
export const FeedState = {
  connecting: "connecting",
  live: "live",
  reconnecting: "reconnecting",
  closed: "closed",
} as const;

/** One of {@link FeedState}'s values. */
export type FeedState = (typeof FeedState)[keyof typeof FeedState];

/** What {@link openRealtimeFeed} needs. */
export interface RealtimeFeedOptions {
  /** `ws://…/api/v1/ws`. */
  readonly url: string;
  /**
   * A current access token (refreshed when near expiry); rejects when the session is over.
   * `rejected` is true when the last attempt closed without ever opening: the collector may
   * have refused the token (browsers do not say why), so the caller should check the session.
   */
  readonly token: (rejected: boolean) => Promise<string>;
  readonly onMessage: (message: RealtimeMessage) => void;
  readonly onState?: (state: FeedState) => void;
  /** First retry delay; doubles per failure up to `maxDelayMs`. Default 1 s. */
  readonly minDelayMs?: number;
  /** Default 30 s. */
  readonly maxDelayMs?: number;
}

/** An open feed. */
export interface RealtimeFeed {
  /** Closes the socket and stops reconnecting. */
  close(): void;
}

// The collector closes with this code when the access token expires: reconnect at once.
const CLOSE_TOKEN_EXPIRED = 4001;

/**
 * Opens `/api/v1/ws` with the token as the `bearer` subprotocol (browsers cannot send an
 * Authorization header on a WebSocket) and keeps it open: after a drop it reconnects with
 * exponential backoff and jitter, so a restarted collector is not stampeded by every tab.
 */
export function openRealtimeFeed(options: RealtimeFeedOptions): RealtimeFeed {
  const minDelay = options.minDelayMs ?? 1_000;
  const maxDelay = options.maxDelayMs ?? 30_000;
  let socket: WebSocket | undefined;
  let timer: number | undefined;
  let failures = 0;
  let closed = false;
  let rejected = false;
  const setState = (state: FeedState): void => options.onState?.(state);

  const retry = (immediately: boolean): void => {
    if (closed) return;
    setState(FeedState.reconnecting);
    const backoff = Math.min(maxDelay, minDelay * 2 ** Math.min(failures, 10));
    failures += 1;
    const delay = immediately ? 0 : backoff / 2 + Math.random() * (backoff / 2);
    timer = window.setTimeout(() => void connect(), delay);
  };

  const connect = async (): Promise<void> => {
    let token: string;
    try {
      token = await options.token(rejected);
    } catch {
      // No session any more: the API client has sent the page back to login.
      closed = true;
      setState(FeedState.closed);
      return;
    }
    if (closed) return;
    const ws = new WebSocket(options.url, ["bearer", token]);
    socket = ws;
    let opened = false;
    ws.addEventListener("open", () => {
      opened = true;
      failures = 0;
      setState(FeedState.live);
    });
    ws.addEventListener("message", (event) => {
      if (closed) return;
      try {
        options.onMessage(JSON.parse(String(event.data)) as RealtimeMessage);
      } catch {
        // A frame that is not JSON is not ours to show.
      }
    });
    ws.addEventListener("close", (event) => {
      if (socket === ws) socket = undefined;
      rejected = !opened;
      retry(event.code === CLOSE_TOKEN_EXPIRED);
    });
  };

  setState(FeedState.connecting);
  void connect();
  return {
    close() {
      closed = true;
      window.clearTimeout(timer);
      if (socket) closeWhenOpen(socket);
      socket = undefined;
      setState(FeedState.closed);
    },
  };
}

/**
 * Closes `ws`; one still connecting is closed as soon as it opens, because closing it earlier
 * makes the browser log "closed before the connection is established" when a page is left
 * quickly (and the server then sees a broken upgrade instead of a clean close).
 */
function closeWhenOpen(ws: WebSocket): void {
  if (ws.readyState === WebSocket.CONNECTING) {
    ws.addEventListener("open", () => ws.close(1000, "page closed"), { once: true });
  } else {
    ws.close(1000, "page closed");
  }
}

/**
 * Opens the live feed of a page for the session of `api`. A refused upgrade may be a revoked
 * session, so an API call then finds out (and ends the session if so); only a 401 ends the
 * feed, an unreachable collector is retried with backoff.
 */
export function openSessionFeed(
  api: ApiClient,
  handlers: Pick<RealtimeFeedOptions, "onMessage" | "onState">,
): RealtimeFeed {
  return openRealtimeFeed({
    url: api.socketUrl,
    token: async (rejected) => {
      if (rejected) {
        await api.request("GET", "/health/summary").catch((error: unknown) => {
          if (error instanceof ApiError && error.status === 401) throw error;
        });
      }
      return api.accessToken();
    },
    ...handlers,
  });
}
