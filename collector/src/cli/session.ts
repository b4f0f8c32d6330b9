/**
 * The CLI's connection to a collector: the address (`--collector`, `PCAPFLEET_COLLECTOR_GRPC`,
 * 127.0.0.1:50051), typed JobService and AuthService clients on one channel, and the bearer
 * token (`--token`, `PCAPFLEET_TOKEN`, or the token file of `pcapfleet login`). A token from the
 * file is refreshed before it expires and once more when the collector refuses it; a token given
 * by flag or environment is used as it is. gRPC failures become AppErrors (exit codes follow).
 */
import * as grpc from "@grpc/grpc-js";
import { AppError, ErrorCode } from "@pcapfleet/core";
import type { CliIo, CliValues } from "@pcapfleet/core/cli";
import {
  AuthService,
  type CallOptions,
  createChannel,
  createClient,
  JobService,
  type TypedClient,
} from "@pcapfleet/proto";
import { loadSession, type StoredSession, saveSession, tokenFilePath, withTokenLock } from "./token-file.js";

/** The collector address when neither flag nor environment names one. */
export const DEFAULT_COLLECTOR = "127.0.0.1:50051";
/** Refresh this long before the access token's expiry, for clock skew and slow calls. */
const REFRESH_MARGIN_MS = 30_000;
/** Deadline of one unary call. */
const UNARY_DEADLINE_MS = 60_000;

/** The global flags every command takes, in parseArgs form. */
export const globalOptions = {
  collector: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
} as const;

/** The global flags' help lines. */
export const globalHelp = `Global options:
  --collector HOST:PORT  collector gRPC address (default $PCAPFLEET_COLLECTOR_GRPC or ${DEFAULT_COLLECTOR})
  --token TOKEN          access token (default $PCAPFLEET_TOKEN, else the token file of \`pcapfleet login\`)
  --json                 print JSON instead of tables
`;

/** A connection to a collector with credentials. */
export interface Session {
  readonly address: string;
  readonly jobs: TypedClient<typeof JobService>;
  readonly auth: TypedClient<typeof AuthService>;
  /**
   * Runs `call` with the bearer token in its options (and, for a unary call, a deadline); when
   * the collector answers unauthenticated and the token came from the token file, refreshes it
   * and runs `call` once more.
   */
  authed<T>(call: (options: CallOptions) => Promise<T>, kind?: "unary" | "stream"): Promise<T>;
  close(): void;
}

/** The collector address of this invocation. */
export function collectorAddress(values: CliValues, io: CliIo): string {
  const flag = values["collector"];
  const address =
    (typeof flag === "string" ? flag : undefined) ?? io.env["PCAPFLEET_COLLECTOR_GRPC"] ?? DEFAULT_COLLECTOR;
  if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/.test(address)) {
    throw new AppError(ErrorCode.InvalidArgument, `--collector: expected HOST:PORT, not '${address}'`);
  }
  return address;
}

/** An AppError for a failed call, naming the collector when it cannot be reached. */
export function callError(reason: unknown, address: string): AppError {
  const error = AppError.from(reason);
  if (error.code === ErrorCode.Unavailable) {
    // grpc-js wraps the socket error in boilerplate; the socket error is what tells the user why.
    const detail = error.message
      .replace(/^No connection established\. Last error: (Error: )?/, "")
      .replace(/\.? Resolution note:.*$/s, "")
      .replace(/ \(\d{4}-.*\)$/, "");
    return new AppError(ErrorCode.Unavailable, `cannot reach the collector at ${address}: ${detail}`, {
      cause: reason,
    });
  }
  if (error.code === ErrorCode.Timeout) {
    return new AppError(ErrorCode.Timeout, `the collector at ${address} did not answer in time`, {
      cause: reason,
    });
  }
  return error;
}

/** The session stored from a Login or Refresh answer. */
export function storedSession(tokens: {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  username: string;
  role: string;
}): StoredSession {
  return {
    username: tokens.username,
    role: tokens.role,
    access_token: tokens.accessToken,
    refresh_token: tokens.refreshToken,
    access_expires_at: new Date(Date.now() + tokens.expiresIn * 1000).toISOString(),
  };
}

/** Opens the channel and clients; credentials are looked up on the first authed call. */
export function openSession(values: CliValues, io: CliIo): Session {
  const address = collectorAddress(values, io);
  // Sensor lists carry each sensor's full status; allow answers well past the 4 MiB default.
  const channel = createChannel(address, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
  });
  const jobs = createClient(JobService, channel);
  const auth = createClient(AuthService, channel);
  const flagToken = typeof values["token"] === "string" ? values["token"] : undefined;
  const fixedToken = flagToken ?? (io.env["PCAPFLEET_TOKEN"] || undefined);
  const file = tokenFilePath(io.env);

  const refresh = (stale: StoredSession): Promise<StoredSession> =>
    withTokenLock(file, async () => {
      // Another process may have refreshed while this one waited for the lock.
      const current = await loadSession(file, address);
      if (current !== undefined && current.access_token !== stale.access_token) return current;
      try {
        const answer = await auth.refresh({ refreshToken: stale.refresh_token }, deadline());
        if (answer.tokens === undefined) throw new AppError(ErrorCode.Internal, "Refresh answered no tokens");
        const next = storedSession(answer.tokens);
        await saveSession(file, address, next);
        return next;
      } catch (error) {
        const failure = callError(error, address);
        if (failure.code !== ErrorCode.Unauthenticated) throw failure;
        await saveSession(file, address, undefined);
        throw new AppError(
          ErrorCode.Unauthenticated,
          `your session with ${address} ended (${failure.message}); run \`pcapfleet login --user ${stale.username}\``,
        );
      }
    });

  const optionsOf = (token: string, kind: "unary" | "stream"): CallOptions => {
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    return kind === "unary" ? { metadata, ...deadline() } : { metadata };
  };

  return {
    address,
    jobs,
    auth,
    async authed(call, kind = "unary") {
      const options = (token: string): CallOptions => optionsOf(token, kind);
      if (fixedToken !== undefined) {
        return call(options(fixedToken)).catch((error: unknown) => {
          const failure = callError(error, address);
          if (failure.code !== ErrorCode.Unauthenticated) throw failure;
          const source = flagToken === undefined ? "PCAPFLEET_TOKEN" : "--token";
          throw new AppError(
            ErrorCode.Unauthenticated,
            `the collector refused the token of ${source}: ${failure.message}`,
          );
        });
      }
      let session = await loadSession(file, address);
      if (session === undefined) {
        throw new AppError(
          ErrorCode.Unauthenticated,
          `not logged in to ${address}: run \`pcapfleet login --user NAME\`, or pass --token / PCAPFLEET_TOKEN`,
        );
      }
      if (Date.parse(session.access_expires_at) - REFRESH_MARGIN_MS < Date.now())
        session = await refresh(session);
      try {
        return await call(options(session.access_token));
      } catch (error) {
        const failure = callError(error, address);
        if (failure.code !== ErrorCode.Unauthenticated) throw failure;
        const renewed = await refresh(session);
        return call(options(renewed.access_token)).catch((again: unknown) => {
          throw callError(again, address);
        });
      }
    },
    close: () => channel.close(),
  };
}

/** A unary call's deadline; streams pass their own options without one. */
function deadline(): { deadline: Date } {
  return { deadline: new Date(Date.now() + UNARY_DEADLINE_MS) };
}
