/**
 * The one error type of pcapfleet. Every failure that crosses a boundary (HTTP, gRPC, CLI)
 * is an {@link AppError} with a code from a closed set; the code decides the HTTP status,
 * the gRPC status and the CLI exit code, so the three surfaces never disagree.
 */

/** Closed set of error codes. Add a code here, and its mapping below, or not at all. */
export const ErrorCode = {
  /** The request is malformed or a value is out of range. */
  InvalidArgument: "invalid_argument",
  /** No credentials, or credentials that do not verify. */
  Unauthenticated: "unauthenticated",
  /** Authenticated, but the role does not allow this. */
  PermissionDenied: "permission_denied",
  /** The named thing does not exist. */
  NotFound: "not_found",
  /** The thing exists already, or the request conflicts with its state. */
  Conflict: "conflict",
  /** A body, file or result is over a limit. */
  TooLarge: "too_large",
  /** Too many requests; retry later. */
  RateLimited: "rate_limited",
  /** The operation was cancelled by its caller. */
  Cancelled: "cancelled",
  /** The operation did not finish in time. */
  Timeout: "timeout",
  /** A dependency (sensor, database, Redis) cannot be reached now; retrying may work. */
  Unavailable: "unavailable",
  /** A file or store cannot be read or written. */
  StorageIo: "storage_io",
  /** A bug or an unexpected state: logged in full, never echoed. */
  Internal: "internal",
} as const;

/** One of the {@link ErrorCode} values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** gRPC status codes used by the mapping (numeric values of the gRPC spec). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

interface CodeMapping {
  readonly http: number;
  readonly grpc: number;
  readonly exit: number;
}

const mapping: Readonly<Record<ErrorCode, CodeMapping>> = {
  invalid_argument: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, exit: 2 },
  unauthenticated: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED, exit: 3 },
  permission_denied: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, exit: 3 },
  not_found: { http: 404, grpc: GrpcStatus.NOT_FOUND, exit: 4 },
  conflict: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS, exit: 5 },
  too_large: { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED, exit: 2 },
  rate_limited: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED, exit: 6 },
  cancelled: { http: 499, grpc: GrpcStatus.CANCELLED, exit: 130 },
  timeout: { http: 504, grpc: GrpcStatus.DEADLINE_EXCEEDED, exit: 7 },
  unavailable: { http: 503, grpc: GrpcStatus.UNAVAILABLE, exit: 7 },
  storage_io: { http: 500, grpc: GrpcStatus.DATA_LOSS, exit: 1 },
  internal: { http: 500, grpc: GrpcStatus.INTERNAL, exit: 1 },
};

const grpcToCode = new Map<number, ErrorCode>([
  [GrpcStatus.CANCELLED, ErrorCode.Cancelled],
  [GrpcStatus.INVALID_ARGUMENT, ErrorCode.InvalidArgument],
  [GrpcStatus.OUT_OF_RANGE, ErrorCode.InvalidArgument],
  [GrpcStatus.DEADLINE_EXCEEDED, ErrorCode.Timeout],
  [GrpcStatus.NOT_FOUND, ErrorCode.NotFound],
  [GrpcStatus.ALREADY_EXISTS, ErrorCode.Conflict],
  [GrpcStatus.ABORTED, ErrorCode.Conflict],
  [GrpcStatus.PERMISSION_DENIED, ErrorCode.PermissionDenied],
  [GrpcStatus.UNAUTHENTICATED, ErrorCode.Unauthenticated],
  [GrpcStatus.RESOURCE_EXHAUSTED, ErrorCode.RateLimited],
  [GrpcStatus.UNAVAILABLE, ErrorCode.Unavailable],
  [GrpcStatus.DATA_LOSS, ErrorCode.StorageIo],
]);

/** Optional extras of an {@link AppError}. */
export interface AppErrorOptions {
  /** The underlying error, kept for logs; never rendered to clients. */
  readonly cause?: unknown;
  /** Machine-readable details safe to show to the caller (a field name, a byte offset). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** An error with a code from {@link ErrorCode}, safe to render to a caller by that code. */
export class AppError extends Error {
  override readonly name = "AppError";
  /** What kind of failure this is. */
  readonly code: ErrorCode;
  /** Details safe for the caller. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  /** HTTP status for this error. */
  get httpStatus(): number {
    return mapping[this.code].http;
  }

  /** gRPC status code for this error. */
  get grpcStatus(): number {
    return mapping[this.code].grpc;
  }

  /** Process exit code a CLI uses for this error. */
  get exitCode(): number {
    return mapping[this.code].exit;
  }

  /** True when the failure is on the server side: it is logged in full and its message hidden. */
  get isServerFault(): boolean {
    return (
      mapping[this.code].http >= 500 && this.code !== ErrorCode.Unavailable && this.code !== ErrorCode.Timeout
    );
  }

  /** The body clients see: `{code, message}`; server faults get a generic message. */
  toJSON(): { code: ErrorCode; message: string; details?: Readonly<Record<string, unknown>> } {
    const message = this.isServerFault ? "internal error" : this.message;
    return this.details === undefined || this.isServerFault
      ? { code: this.code, message }
      : { code: this.code, message, details: this.details };
  }

  /**
   * Turns anything thrown into an AppError. An AppError is returned as is; a gRPC
   * ServiceError keeps its status meaning; anything else is `internal` with the original as cause.
   */
  static from(reason: unknown): AppError {
    if (reason instanceof AppError) return reason;
    if (isGrpcError(reason)) {
      const code = grpcToCode.get(reason.code) ?? ErrorCode.Internal;
      return new AppError(code, reason.details || reason.message, { cause: reason });
    }
    const message = reason instanceof Error ? reason.message : String(reason);
    return new AppError(ErrorCode.Internal, message, { cause: reason });
  }
}

function isGrpcError(reason: unknown): reason is Error & { code: number; details: string } {
  return (
    reason instanceof Error &&
    typeof (reason as { code?: unknown }).code === "number" &&
    typeof (reason as { details?: unknown }).details === "string"
  );
}

/** All codes with their HTTP, gRPC and exit mappings, for documentation and tests. */
export function errorCodeTable(): ReadonlyArray<{ code: ErrorCode } & CodeMapping> {
  return Object.values(ErrorCode).map((code) => ({ code, ...mapping[code] }));
}
