import type { SessionUser, TokenPair } from "./api-types.js";

/** An answer of the collector that is not a success, as `{code, message}` (DESIGN.md). */
export class ApiError extends Error {
  /** HTTP status; 0 when the collector could not be reached. */
  readonly status: number;
  /** The collector's error code (`invalid_argument`, `forbidden`, …), or `network`. */
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** A logged-in session as kept in sessionStorage. */
export interface Session {
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Epoch ms when the access token expires. */
  readonly expiresAt: number;
  readonly user: SessionUser;
}

/** What {@link createApiClient} needs. */
export interface ApiClientOptions {
  /** Origin (and path prefix) of the collector; empty means the page's own origin. */
  readonly base: string;
  /** Where the session survives reloads of the tab (sessionStorage in the page). */
  readonly storage: Pick<Storage, "getItem" | "setItem" | "removeItem">;
  /** Called once when a session ends without the user logging out (refresh refused). */
  readonly onSessionEnd: (message: string) => void;
}

/** The collector API with the session's bearer token; see {@link createApiClient}. */
export interface ApiClient {
  /** The current session, or null when logged out. */
  readonly session: Session | null;
  /** Logs in; rejects with {@link ApiError} (401 for a bad password). */
  login(username: string, password: string): Promise<Session>;
  /** Ends the session on the collector (best effort) and here. */
  logout(): Promise<void>;
  /** JSON request under `/api/v1`; `body` is sent as JSON. Resolves to undefined for 204. */
  request<T>(method: string, path: string, options?: RequestOptions): Promise<T>;
  /** `GET` of a binary resource (an avatar) under `/api/v1`. */
  blob(path: string, signal?: AbortSignal): Promise<Blob>;
  /**
   * `GET` of a download under `/api/v1`: the successful response, its body not yet read, so a
   * large file can be streamed; rejects with {@link ApiError} otherwise.
   */
  download(path: string, signal?: AbortSignal): Promise<Response>;
  /** A valid access token, refreshed first when it is about to expire (for the WebSocket). */
  accessToken(): Promise<string>;
  /** `ws(s)://…/api/v1/ws`. */
  readonly socketUrl: string;
}

/** Options of {@link ApiClient.request}. */
export interface RequestOptions {
  readonly body?: unknown;
  /** Raw bytes with their content type, instead of JSON. */
  readonly raw?: { readonly data: Blob; readonly type: string };
  readonly signal?: AbortSignal;
}

const STORAGE_KEY = "pcapfleet.session";
// Refresh this long before expiry, so a token does not lapse between the check and its use.
const EXPIRY_SLACK_MS = 10_000;

/** Message shown on the login page when a session ends by itself. */
export const SESSION_EXPIRED_MESSAGE = "Your session has expired. Please log in again.";

function toSession(pair: TokenPair): Session {
  return {
    accessToken: pair.access_token,
    refreshToken: pair.refresh_token,
    expiresAt: Date.now() + pair.expires_in * 1000,
    user: pair.user,
  };
}

function readSession(storage: ApiClientOptions["storage"]): Session | null {
  try {
    const parsed: unknown = JSON.parse(storage.getItem(STORAGE_KEY) ?? "null");
    if (typeof parsed !== "object" || parsed === null) return null;
    const s = parsed as Partial<Session>;
    return typeof s.accessToken === "string" && typeof s.refreshToken === "string" && s.user !== undefined
      ? (s as Session)
      : null;
  } catch {
    return null;
  }
}

/** The {@link ApiError} of a failed response: the collector's `{code, message}` when it sent one. */
async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { code?: unknown; message?: unknown };
    if (typeof body.code === "string" && typeof body.message === "string") {
      return new ApiError(response.status, body.code, body.message);
    }
  } catch {
    // Not JSON (a proxy's error page): fall through to the status line.
  }
  return new ApiError(response.status, "http_error", `${response.status} ${response.statusText}`.trim());
}

/**
 * Creates the dashboard's API client: bearer token on every request; on a 401 it refreshes the
 * session once and retries; when the refresh is refused the session ends (`onSessionEnd`) and
 * the page goes back to login. Refreshes are single-flight: the collector rotates refresh tokens
 * and treats a reused one as theft, so parallel 401s must share one refresh.
 */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = options.base.replace(/\/+$/, "");
  let session = readSession(options.storage);
  let refreshing: Promise<Session> | undefined;

  const store = (next: Session | null): void => {
    session = next;
    if (next === null) options.storage.removeItem(STORAGE_KEY);
    else options.storage.setItem(STORAGE_KEY, JSON.stringify(next));
  };

  const send = async (path: string, init: RequestInit): Promise<Response> => {
    try {
      return await fetch(`${base}/api/v1${path}`, { cache: "no-store", ...init });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw new ApiError(0, "network", "The collector cannot be reached.");
    }
  };

  const end = (message: string): void => {
    if (session === null) return;
    store(null);
    options.onSessionEnd(message);
  };

  const refresh = (): Promise<Session> => {
    const current = session;
    if (current === null)
      return Promise.reject(new ApiError(401, "unauthenticated", SESSION_EXPIRED_MESSAGE));
    refreshing ??= (async () => {
      const response = await send("/refresh", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: current.refreshToken }),
      });
      if (!response.ok) {
        const error = await errorOf(response);
        if (response.status === 401 || response.status === 400) {
          end(SESSION_EXPIRED_MESSAGE);
          throw new ApiError(401, error.code, SESSION_EXPIRED_MESSAGE);
        }
        throw error;
      }
      const next = toSession((await response.json()) as TokenPair);
      store(next);
      return next;
    })().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };

  const authorized = async (path: string, init: RequestInit): Promise<Response> => {
    if (session === null) throw new ApiError(401, "unauthenticated", "Please log in.");
    const withToken = (token: string): RequestInit => ({
      ...init,
      headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
    });
    const first = await send(path, withToken(session.accessToken));
    if (first.status !== 401) return first;
    const renewed = await refresh();
    const second = await send(path, withToken(renewed.accessToken));
    // Refreshed and still refused: the account changed (disabled, deleted); start over.
    if (second.status === 401) end(SESSION_EXPIRED_MESSAGE);
    return second;
  };

  return {
    get session() {
      return session;
    },
    socketUrl: `${(base === "" ? window.location.origin : base).replace(/^http/, "ws")}/api/v1/ws`,
    async login(username, password) {
      const response = await send("/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username, password }),
      });
      if (!response.ok) throw await errorOf(response);
      const next = toSession((await response.json()) as TokenPair);
      store(next);
      return next;
    },
    async logout() {
      const current = session;
      store(null);
      if (current === null) return;
      // Revokes the session on every collector; a failure here still leaves this tab logged out.
      await send("/logout", {
        method: "POST",
        headers: { authorization: `Bearer ${current.accessToken}` },
      }).catch(() => undefined);
    },
    async request<T>(method: string, path: string, request: RequestOptions = {}): Promise<T> {
      const headers: Record<string, string> = { accept: "application/json" };
      let body: BodyInit | undefined;
      if (request.raw !== undefined) {
        headers["content-type"] = request.raw.type;
        body = request.raw.data;
      } else if (request.body !== undefined) {
        headers["content-type"] = "application/json";
        body = JSON.stringify(request.body);
      }
      const response = await authorized(path, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      });
      if (!response.ok) throw await errorOf(response);
      if (response.status === 204) return undefined as T;
      return (await response.json()) as T;
    },
    async blob(path, signal) {
      const response = await authorized(path, { method: "GET", ...(signal === undefined ? {} : { signal }) });
      if (!response.ok) throw await errorOf(response);
      return response.blob();
    },
    async download(path, signal) {
      const response = await authorized(path, { method: "GET", ...(signal === undefined ? {} : { signal }) });
      if (!response.ok) throw await errorOf(response);
      return response;
    },
    async accessToken() {
      if (session === null) throw new ApiError(401, "unauthenticated", "Please log in.");
      if (session.expiresAt - Date.now() > EXPIRY_SLACK_MS) return session.accessToken;
      return (await refresh()).accessToken;
    },
  };
}

/** The user-facing text of any error a request threw. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 403) return `You do not have permission to do this (${error.message}).`;
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
