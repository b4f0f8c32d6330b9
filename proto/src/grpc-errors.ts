/**
 * The gRPC face of {@link AppError}: what a handler's failure looks like on the wire. The
 * reverse direction, a caller turning a grpc `ServiceError` back into an AppError, is
 * `AppError.from` in core, which reads the status code.
 */

import * as grpc from "@grpc/grpc-js";
import { AppError, type Logger } from "@pcapfleet/core";

/** The message a caller sees for a server fault, whose real message may hold internals. */
export const internalErrorMessage = "internal error";

/**
 * Maps anything thrown to the grpc-js error a handler reports: the status code is the
 * AppError's `grpcStatus`, the details its message. Server faults (bugs, storage errors) keep
 * their message off the wire, and are logged in full to `log` when one is given.
 */
export function toGrpcError(reason: unknown, log?: Logger): grpc.ServiceError {
  const error = AppError.from(reason);
  const details = error.isServerFault ? internalErrorMessage : error.message;
  if (error.isServerFault) log?.error({ err: reason, code: error.code }, "rpc failed");
  return Object.assign(new Error(details), {
    code: error.grpcStatus,
    details,
    metadata: new grpc.Metadata(),
  });
}
