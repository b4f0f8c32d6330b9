import { AppError, ErrorCode } from "@pcapfleet/core";

/**
 * One mapping from database failures to {@link AppError}, used by both backends. `pg` and PGlite
 * throw different classes but both carry the server's SQLSTATE in `code`, so the mapping keys on
 * that and never on a class.
 */

/** The fields of a Postgres error report that both drivers expose. */
interface PgErrorFields {
  readonly message: string;
  readonly code: string;
  readonly constraint?: string | undefined;
  readonly table?: string | undefined;
  readonly column?: string | undefined;
}

/** Node socket errors that mean the server cannot be reached. */
const networkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
]);

/**
 * SQLSTATEs that mean "the database is not usable right now" rather than "your statement is
 * wrong": retrying later (or fixing the deployment) helps, so they map to `unavailable`.
 */
const unavailableStates = new Set([
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "53300", // too_many_connections
  "3D000", // invalid_catalog_name: the database in the URL does not exist
]);

/** pg's own messages for a socket lost mid-query; they carry no code. */
const lostConnection = /Connection terminated|connection timeout|Client has encountered a connection error/i;

/**
 * A server error report: a five-character SQLSTATE plus a severity. The severity matters: Node
 * socket errors also carry a `code`, and some (EPIPE, EPERM) are five capitals too.
 */
function isPgError(reason: unknown): reason is Error & PgErrorFields {
  if (!(reason instanceof Error)) return false;
  const fields = reason as Error & { code?: unknown; severity?: unknown };
  return (
    typeof fields.code === "string" &&
    /^[0-9A-Z]{5}$/.test(fields.code) &&
    typeof fields.severity === "string"
  );
}

/** The {@link ErrorCode} for a SQLSTATE. */
export function codeForSqlState(sqlState: string): ErrorCode {
  if (sqlState === "23505") return ErrorCode.Conflict;
  const sqlClass = sqlState.slice(0, 2);
  // 22: data exception (bad text for a type, out of range); 23: integrity constraint violation.
  if (sqlClass === "22" || sqlClass === "23") return ErrorCode.InvalidArgument;
  // 08: connection exception; 28: the server refused our credentials.
  if (sqlClass === "08" || sqlClass === "28" || unavailableStates.has(sqlState)) {
    return ErrorCode.Unavailable;
  }
  return ErrorCode.Internal;
}

/**
 * Turns anything a driver threw into an AppError. SQL errors keep Postgres' message, with the
 * SQLSTATE (and constraint/table/column when the server named them) in `details`; socket
 * failures become `unavailable`; an AppError passes through; the original is always the `cause`.
 */
export function toDbError(reason: unknown): AppError {
  if (reason instanceof AppError) return reason;
  if (isPgError(reason)) {
    const details: Record<string, unknown> = { sqlState: reason.code };
    if (reason.constraint) details["constraint"] = reason.constraint;
    if (reason.table) details["table"] = reason.table;
    if (reason.column) details["column"] = reason.column;
    return new AppError(codeForSqlState(reason.code), reason.message, { cause: reason, details });
  }
  if (reason instanceof Error) {
    const errno = (reason as NodeJS.ErrnoException).code;
    if ((errno !== undefined && networkCodes.has(errno)) || lostConnection.test(reason.message)) {
      return new AppError(ErrorCode.Unavailable, `database unreachable: ${errno ?? reason.message}`, {
        cause: reason,
      });
    }
    // pg reports connection refusal on a multi-address host as an AggregateError without a code.
    if (reason instanceof AggregateError) {
      const inner = reason.errors.find((error: unknown) => error instanceof Error);
      if (inner !== undefined) {
        const mapped = toDbError(inner);
        return new AppError(mapped.code, mapped.message, { cause: reason });
      }
    }
  }
  return AppError.from(reason);
}

/** The AppError for any use of a handle after `close()`. */
export function closedError(kind: string): AppError {
  return new AppError(ErrorCode.Unavailable, `database (${kind}) is closed`);
}

/** Runs a driver call and maps what it throws; the one place both backends translate errors. */
export async function mapDbErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (reason) {
    throw toDbError(reason);
  }
}
