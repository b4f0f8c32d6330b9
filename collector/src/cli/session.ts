/**
 * The CLI's connection to a collector: the address (`--collector`, `PCAPFLEET_COLLECTOR_GRPC`,
 * 127.0.0.1:50051), TLS verified against a CA when one is named (`--ca`, `PCAPFLEET_CA`, or the
 * one `pcapfleet login --ca` saved for that collector), typed JobService and AuthService clients
 * on one channel, and the bearer token (`--token`, `PCAPFLEET_TOKEN`, or the token file of
 * `pcapfleet login`). A token from the file is refreshed before it expires and once more when the
 * collector refuses it; a token given by flag or environment is used as it is. gRPC failures
 * become AppErrors (exit codes follow).
 */
import { resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { AppError, ErrorCode } from "@pcapfleet/core";
import type { CliIo, CliValues } from "@pcapfleet/core/cli";
import {
  AuthService,
  type CallOptions,
  caOnlyCredentials,
  createChannel,
  createClient,
  JobService,
  type TypedClient,
  tlsCallError,
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
  ca: { type: "string" },
  json: { type: "boolean" },
} as const;

/** The global flags' help lines. */
export const globalHelp = `Global options:
  --collector HOST:PORT  collector gRPC address (default $PCAPFLEET_COLLECTOR_GRPC or ${DEFAULT_COLLECTOR})
  --token TOKEN          access token (default $PCAPFLEET_TOKEN, else the token file of \`pcapfleet login\`)
  --ca FILE              TLS: verify the collector's certificate against this PEM CA (default $PCAPFLEET_CA,
                         else the CA \`pcapfleet login --ca\` saved for the collector; none: plaintext)
  --json                 print JSON instead of tables
`;

/** Where the CA that verifies the collector came from, when the channel uses TLS. */
export interface CaSource {
  /** Absolute path of the PEM file. */
  readonly path: string;
  /** `--ca`, `PCAPFLEET_CA` or the login that saved it, for messages. */
  readonly from: string;
}

/** A connection to a collector with credentials. */
export interface Session {
  readonly address: string;
  /** The CA the channel verifies the collector against; undefined for plaintext. */
  readonly ca: CaSource | undefined;
  readonly jobs: TypedClient<typeof JobService>;
  readonly auth: TypedClient<typeof AuthService>;
  /**
   * Runs `call` with the bearer token in its options (and, for a unary call, a deadline); when
   * the collector answers unauthenticated and the token came from the token file, refreshes it
   * and runs `call` once more.
   */
  authed<T>(call: (options: CallOptions) => Promise<T>, kind?: "unary" | "stream"): Promise<T>;
  /** {@link callError} for this session's address and CA. */
  callError(reason: unknown): AppError;
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

/** The CA named by `--ca` or `PCAPFLEET_CA`, if any. */
export function caFlag(values: CliValues, io: CliIo): CaSource | undefined {
  const flag = values["ca"];
  if (typeof flag === "string") {
    if (flag === "") throw new AppError(ErrorCode.InvalidArgument, "--ca needs a PEM file");
    return { path: resolve(flag), from: "--ca" };
  }
  const env = io.env["PCAPFLEET_CA"];
  return env === undefined || env === "" ? undefined : { path: resolve(env), from: "PCAPFLEET_CA" };
}

/**
 * An AppError for a failed call, naming the collector when it cannot be reached; a failed TLS
 * handshake says so, and a plaintext call a TLS collector refused suggests `--ca`.
 */
export function callError(reason: unknown, address: string, ca?: CaSource): AppError {
  const tls = tlsCallError(reason, `the collector at ${address}`, {
    secure: ca !== undefined,
    hint:
      ca === undefined
        ? "pass --ca FILE (or set PCAPFLEET_CA) naming the CA of its certificate"
        : `is ${ca.path} (${ca.from}) the CA that signed its certificate, and does it serve TLS?`,
  });
  if (tls !== undefined) return tls;
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

/** The session stored from a Login or Refresh answer, with the CA path used to reach the collector. */
export function storedSession(
  tokens: {
    accessToken: string;
    refreshToken: string;
    expiresIn: number;
    username: string;
    role: string;
  },
  ca?: string,
): StoredSession {
  return {
    ...(ca === undefined ? {} : { ca }),
    username: tokens.username,
    role: tokens.role,
    access_token: tokens.accessToken,
    refresh_token: tokens.refreshToken,
    access_expires_at: new Date(Date.now() + tokens.expiresIn * 1000).toISOString(),
  };
}

/**
 * Opens the channel and clients; tokens are looked up on the first authed call. The channel is
 * TLS when a CA is named, or was saved by `pcapfleet login --ca` for this collector.
 */
export async function openSession(values: CliValues, io: CliIo): Promise<Session> {
  const address = collectorAddress(values, io);
  const file = tokenFilePath(io.env);
  const saved = (await loadSession(file, address))?.ca;
  const ca =
    caFlag(values, io) ??
    (saved === undefined ? undefined : { path: saved, from: "the CA saved by pcapfleet login" });
  const credentials =
    ca === undefined ? grpc.credentials.createInsecure() : caOnlyCredentials(ca.path, ca.from);
  // Sensor lists carry each sensor's full status; allow answers well past the 4 MiB default.
  const channel = createChannel(address, credentials, {
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
  });
  const jobs = createClient(JobService, channel);
  const auth = createClient(AuthService, channel);
  const flagToken = typeof values["token"] === "string" ? values["token"] : undefined;
  const fixedToken = flagToken ?? (io.env["PCAPFLEET_TOKEN"] || undefined);
  const fail = (reason: unknown): AppError => callError(reason, address, ca);

  const refresh = (stale: StoredSession): Promise<StoredSession> =>
    withTokenLock(file, async () => {
      // Another process may have refreshed while this one waited for the lock.
      const current = await loadSession(file, address);
      if (current !== undefined && current.access_token !== stale.access_token) return current;
      try {
        const answer = await auth.refresh({ refreshToken: stale.refresh_token }, deadline());
        if (answer.tokens === undefined) throw new AppError(ErrorCode.Internal, "Refresh answered no tokens");
        const next = storedSession(answer.tokens, stale.ca);
        await saveSession(file, address, next);
        return next;
      } catch (error) {
        const failure = fail(error);
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
    ca,
    jobs,
    auth,
    async authed(call, kind = "unary") {
      const options = (token: string): CallOptions => optionsOf(token, kind);
      if (fixedToken !== undefined) {
        return call(options(fixedToken)).catch((error: unknown) => {
          const failure = fail(error);
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
        const failure = fail(error);
        if (failure.code !== ErrorCode.Unauthenticated) throw failure;
        const renewed = await refresh(session);
        return call(options(renewed.access_token)).catch((again: unknown) => {
          throw fail(again);
        });
      }
    },
    callError: fail,
    close: () => channel.close(),
  };
}

/** A unary call's deadline; streams pass their own options without one. */
function deadline(): { deadline: Date } {
  return { deadline: new Date(Date.now() + UNARY_DEADLINE_MS) };
}
