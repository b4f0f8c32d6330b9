import { AppError, ErrorCode, type Logger } from "@pcapfleet/core";
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";

/**
 * The one place HTTP errors are rendered: everything thrown becomes `{code, message}` with the
 * status of its {@link ErrorCode}. Server faults are logged in full and answered generically.
 */

/** Describes a zod failure in one line naming the field, e.g. `json.role: Invalid option`. */
export function describeZodError(error: ZodError, target: string): { message: string; field: string } {
  const issue = error.issues[0];
  if (issue === undefined) return { message: `${target}: invalid`, field: target };
  const path = issue.path.map(String).join(".");
  const field = path === "" ? target : path;
  if (issue.code === "unrecognized_keys") {
    const where = path === "" ? "" : ` in ${path}`;
    return {
      message: `unknown field${issue.keys.length > 1 ? "s" : ""}${where}: ${issue.keys.join(", ")}`,
      field,
    };
  }
  return { message: `${field}: ${issue.message}`, field };
}

/** Validation hook for OpenAPIHono: a failed zod parse becomes a 400 naming the field. */
export function validationHook(
  result: { target: string } & ({ success: true } | { success: false; error: ZodError }),
): void {
  if (result.success) return;
  const { message, field } = describeZodError(result.error, result.target);
  throw new AppError(ErrorCode.InvalidArgument, message, { details: { field, in: result.target } });
}

/** Maps Hono's own exceptions (malformed JSON, 415, body limit) onto the closed code set. */
function fromHttpException(error: HTTPException): { status: number; code: ErrorCode; message: string } {
  const status = error.status;
  if (status === 413) return { status, code: ErrorCode.TooLarge, message: "request body too large" };
  if (status === 401)
    return { status, code: ErrorCode.Unauthenticated, message: error.message || "unauthenticated" };
  if (status < 500)
    return { status, code: ErrorCode.InvalidArgument, message: error.message || "bad request" };
  return { status: 500, code: ErrorCode.Internal, message: "internal error" };
}

function logOf(c: Context, fallback: Logger): Logger {
  const log: unknown = c.get("log");
  return (log as Logger | undefined) ?? fallback;
}

/** Creates the app's `onError` handler. */
export function createErrorHandler(log: Logger): ErrorHandler {
  return function onError(error, c) {
    if (error instanceof HTTPException) {
      const mapped = fromHttpException(error);
      if (mapped.status >= 500) logOf(c, log).error({ err: error }, "http: unexpected exception");
      return c.json({ code: mapped.code, message: mapped.message }, mapped.status as ContentfulStatusCode);
    }
    const appError = AppError.from(error);
    if (appError.isServerFault) {
      logOf(c, log).error({ err: error, path: c.req.path, method: c.req.method }, "http: request failed");
    }
    const retryAfter = appError.details?.["retryAfterSeconds"];
    if (appError.code === ErrorCode.RateLimited && typeof retryAfter === "number") {
      c.header("Retry-After", String(retryAfter));
    }
    return c.json(appError.toJSON(), appError.httpStatus as ContentfulStatusCode);
  };
}

/** Unknown routes: a JSON 404 like every other error. */
export const notFoundHandler: NotFoundHandler = function notFound(c) {
  return c.json({ code: ErrorCode.NotFound, message: `no route for ${c.req.method} ${c.req.path}` }, 404);
};
