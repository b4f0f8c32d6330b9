/**
 * The collector's side of `CaptureService.Slice`, spoken over node:http2 directly rather than
 * through grpc-js (ADR 0020): grpc-js puts every message back together in a new buffer
 * (`Buffer.concat` of the HTTP/2 pieces) before decoding it, a second buffer for each byte
 * received; here {@link SliceFrameReader} hands the data on as views of the pieces HTTP/2 read.
 * Everything else of the call is gRPC as grpc-js does it: the request frame, the `grpc-status`
 * and `grpc-message` trailers, HTTP statuses and RST_STREAM codes mapped to status codes, and
 * cancellation as RST_STREAM CANCEL, which the agent sees as a cancelled call. Failures reject
 * with the shape of a grpc-js `ServiceError` (`code`, `details`), so callers read them alike.
 *
 * One HTTP/2 connection per agent address is kept and reused, like a grpc-js channel.
 */

import * as http2 from "node:http2";
import { isIP } from "node:net";
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { status as grpcStatusNames } from "@grpc/grpc-js";
import { GrpcStatus } from "@pcapfleet/core";
import {
  CaptureService,
  type SliceDone,
  SliceRequestSchema,
  type SliceResponse,
} from "./gen/pcapfleet/v1/capture_pb.js";
import { methodPath } from "./grpc-adapter.js";
import { SliceFrameError, SliceFrameReader } from "./slice-frames.js";
import type { TlsMaterial } from "./tls.js";

const SLICE_PATH = methodPath(CaptureService.method.slice);
/**
 * Receive windows: with HTTP/2's 64 KiB default the agent waits for a WINDOW_UPDATE every few
 * frames. 4 MiB per stream keeps it sending while the collector's disk keeps up; the connection
 * window allows a few streams (tasks) at once.
 */
const STREAM_WINDOW = 4 * 1024 * 1024;
const CONNECTION_WINDOW = 16 * 1024 * 1024;

/** What a Slice call does with what arrives. */
export interface SliceCallOptions {
  /** Aborting cancels the call (RST_STREAM CANCEL); the call then rejects with CANCELLED. */
  readonly signal?: AbortSignal;
  /** Request metadata (lowercase ASCII keys), sent as headers. */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Bytes of the slice in order, `offset` being where the first one belongs. `bytes` may be
   * kept (it is never reused). A throw ends the call with that error.
   */
  onData(bytes: Buffer, offset: bigint): void;
}

/** A running Slice call. */
export interface SliceCall {
  /** Stops reading (HTTP/2 flow control then holds the agent back) until {@link resume}. */
  pause(): void;
  resume(): void;
  /**
   * The agent's summary once the call ended with status OK; undefined when it ended OK
   * without one. Rejects with a `ServiceError`-shaped error ({@link SliceCallError}).
   */
  readonly done: Promise<SliceDone | undefined>;
}

/** A failed call, shaped as grpc-js's `ServiceError` (numeric `code`, `details`). */
export class SliceCallError extends Error {
  readonly code: number;
  readonly details: string;

  constructor(code: number, details: string, options?: { cause?: unknown }) {
    super(`${code} ${grpcStatusNames[code] ?? "UNKNOWN"}: ${details}`, options);
    this.code = code;
    this.details = details;
  }
}

/** HTTP/2 connections to agents by address (host:port); see the module comment. */
export class SliceConnections {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();
  private readonly tls: TlsMaterial | undefined;

  /** TLS with `tls` (verify the agent against `ca`, present `cert` and `key`), plaintext without. */
  constructor(tls?: TlsMaterial) {
    this.tls = tls;
  }

  /** Starts `Slice(request)` on the agent at `address`. */
  slice(
    address: string,
    request: MessageInitShape<typeof SliceRequestSchema>,
    options: SliceCallOptions,
  ): SliceCall {
    const session = this.session(address);
    const body = toBinary(SliceRequestSchema, create(SliceRequestSchema, request));
    const frame = Buffer.allocUnsafe(5 + body.length);
    frame[0] = 0;
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, 5);
    return startCall(session, frame, options);
  }

  /** Closes every connection; running calls fail. */
  close(): void {
    for (const session of this.sessions.values()) session.destroy();
    this.sessions.clear();
  }

  private session(address: string): http2.ClientHttp2Session {
    const open = this.sessions.get(address);
    if (open !== undefined && !open.closed && !open.destroyed) return open;
    const host = hostOf(address);
    const settings = { initialWindowSize: STREAM_WINDOW, enablePush: false };
    const session =
      this.tls === undefined
        ? http2.connect(`http://${address}`, { settings })
        : http2.connect(`https://${address}`, {
            settings,
            ca: this.tls.ca,
            cert: this.tls.cert,
            key: this.tls.key,
            // No SNI for an IP address (RFC 6066); the certificate is still checked against it.
            servername: isIP(host) === 0 ? host : "",
          });
    const forget = (): void => {
      if (this.sessions.get(address) === session) this.sessions.delete(address);
    };
    // A failed connection fails its streams (each gets the error); the session's own 'error'
    // must have a listener or it would end the process.
    session.on("error", forget);
    session.on("close", forget);
    session.on("goaway", forget);
    session.once("connect", () => session.setLocalWindowSize(CONNECTION_WINDOW));
    session.unref();
    this.sessions.set(address, session);
    return session;
  }
}

/** The host of `host:port` (host may be a bracketed IPv6 address). */
function hostOf(address: string): string {
  return /^\[?([^\]]*)\]?:\d+$/.exec(address)?.[1] ?? address;
}

function startCall(session: http2.ClientHttp2Session, frame: Buffer, options: SliceCallOptions): SliceCall {
  const stream = session.request({
    ":method": "POST",
    ":path": SLICE_PATH,
    "content-type": "application/grpc+proto",
    te: "trailers",
    "grpc-accept-encoding": "identity",
    ...options.metadata,
  });
  let summary: SliceDone | undefined;
  /** Why the call was ended here: a SliceCallError, or what `onData` threw. */
  let failure: { error: unknown } | undefined;
  let status: { code: number; details: string } | undefined;
  let responded = false;
  const fail = (error: unknown): void => {
    if (failure !== undefined || status !== undefined) return;
    failure = { error };
    if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
  };
  const reader = new SliceFrameReader({
    data: (bytes, offset) => options.onData(bytes, offset),
    message: (message: SliceResponse) => {
      if (message.kind.case === "done") summary = message.kind.value;
    },
  });
  const onAbort = (): void =>
    fail(new SliceCallError(GrpcStatus.CANCELLED, "Cancelled on client", { cause: options.signal?.reason }));
  const done = new Promise<SliceDone | undefined>((resolve, reject) => {
    stream.on("response", (headers) => {
      responded = true;
      const httpStatus = Number(headers[":status"]);
      if (headers["grpc-status"] !== undefined) {
        status = statusOf(headers);
        return;
      }
      if (httpStatus !== 200) {
        fail(new SliceCallError(httpStatusCode(httpStatus), `Received HTTP status code ${httpStatus}`));
        return;
      }
      const type = String(headers["content-type"] ?? "");
      if (!type.startsWith("application/grpc")) {
        fail(
          new SliceCallError(GrpcStatus.UNKNOWN, `the agent answered with content-type ${type || "none"}`),
        );
      }
    });
    stream.on("data", (piece: Buffer) => {
      if (failure !== undefined) return;
      try {
        reader.push(piece);
      } catch (error) {
        fail(
          error instanceof SliceFrameError
            ? new SliceCallError(GrpcStatus.INTERNAL, error.message, { cause: error })
            : error,
        );
      }
    });
    stream.on("trailers", (trailers) => {
      status = statusOf(trailers);
    });
    let streamError: Error | undefined;
    stream.on("error", (error: Error) => {
      streamError = error;
    });
    stream.on("close", () => {
      options.signal?.removeEventListener("abort", onAbort);
      if (failure !== undefined) {
        reject(failure.error);
        return;
      }
      if (status === undefined) {
        reject(closedWithoutStatus(stream.rstCode, streamError, responded));
        return;
      }
      if (status.code !== GrpcStatus.OK) {
        reject(new SliceCallError(status.code, status.details));
        return;
      }
      try {
        reader.end();
      } catch (error) {
        reject(new SliceCallError(GrpcStatus.INTERNAL, (error as Error).message, { cause: error }));
        return;
      }
      resolve(summary);
    });
  });
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });
  stream.end(frame);
  return {
    pause: () => stream.pause(),
    resume: () => stream.resume(),
    done,
  };
}

/** The gRPC status in `grpc-status` / `grpc-message` (percent-encoded, per the gRPC spec). */
function statusOf(headers: http2.IncomingHttpHeaders): { code: number; details: string } {
  const code = Number(headers["grpc-status"]);
  const raw = String(headers["grpc-message"] ?? "");
  let details = raw;
  try {
    details = decodeURIComponent(raw);
  } catch {
    // Not valid percent-encoding: shown as sent.
  }
  return Number.isInteger(code) && code >= 0 && code <= 16
    ? { code, details }
    : { code: GrpcStatus.UNKNOWN, details: `bad grpc-status ${String(headers["grpc-status"])}: ${details}` };
}

/** gRPC's mapping of a non-200 HTTP status without grpc-status. */
function httpStatusCode(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/**
 * A stream that closed with no gRPC status and not by this side's cancel: a reset by the agent,
 * or a connection that failed or closed. `responded`: the agent's response headers had come.
 */
function closedWithoutStatus(
  rstCode: number | undefined,
  error: Error | undefined,
  responded: boolean,
): SliceCallError {
  // A failed connection fails its pending streams with ERR_HTTP2_STREAM_CANCEL, caused by the
  // socket's error (refused, unreachable, a TLS handshake failure).
  const cause =
    (error as NodeJS.ErrnoException | undefined)?.code === "ERR_HTTP2_STREAM_CANCEL" &&
    error?.cause instanceof Error
      ? error.cause
      : error;
  if (cause !== undefined && (cause as NodeJS.ErrnoException).code !== "ERR_HTTP2_STREAM_ERROR") {
    // grpc-js reports these as UNAVAILABLE with the socket's message.
    return new SliceCallError(GrpcStatus.UNAVAILABLE, cause.message, { cause });
  }
  switch (rstCode) {
    case http2.constants.NGHTTP2_REFUSED_STREAM:
      return new SliceCallError(GrpcStatus.UNAVAILABLE, "Stream refused by server", { cause });
    case http2.constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return new SliceCallError(
        GrpcStatus.RESOURCE_EXHAUSTED,
        "Bandwidth exhausted or memory limit exceeded",
      );
    case http2.constants.NGHTTP2_INADEQUATE_SECURITY:
      return new SliceCallError(GrpcStatus.PERMISSION_DENIED, "Protocol not secure enough");
    case undefined:
    case http2.constants.NGHTTP2_NO_ERROR:
    case http2.constants.NGHTTP2_CANCEL:
      // The connection closed under the stream. Before any response that is what a TLS server
      // does to a plaintext caller, or to a certificate it does not trust: grpc-js's words for
      // it, which tlsCallError explains.
      return new SliceCallError(
        GrpcStatus.UNAVAILABLE,
        responded ? "the connection closed during the call" : "Connection dropped",
        { cause },
      );
    default:
      return new SliceCallError(GrpcStatus.INTERNAL, `Received RST_STREAM with code ${rstCode}`, { cause });
  }
}
