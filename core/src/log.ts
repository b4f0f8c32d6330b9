import { type DestinationStream, type Logger, type LoggerOptions, pino } from "pino";

/** Keys whose values never reach a log line, at the top level and up to two levels down. */
const secretKeys = [
  "password",
  "newPassword",
  "token",
  "access_token",
  "refresh_token",
  "accessToken",
  "refreshToken",
  "authorization",
  "cookie",
  "secret",
  "jwtSecret",
  "databaseUrl",
  "redisUrl",
] as const;

/** pino `redact` paths for {@link secretKeys}, also inside objects and request headers. */
export const redactPaths: readonly string[] = secretKeys.flatMap((key) => [
  key,
  `*.${key}`,
  `*.*.${key}`,
  `req.headers.${key}`,
]);

/** Options of {@link createLogger}. */
export interface LogOptions {
  /** Program or component name, the `name` field of every line. */
  readonly name: string;
  /** Minimum level: trace, debug, info, warn, error, fatal, silent. */
  readonly level: string;
  /** Where lines go; standard output when absent. */
  readonly destination?: DestinationStream;
}

/**
 * Creates the structured JSON logger of a program, with secrets redacted.
 * Callers derive child loggers per request or task (`log.child({ jobId })`).
 */
export function createLogger(options: LogOptions): Logger {
  const config: LoggerOptions = {
    name: options.name,
    level: options.level,
    redact: { paths: [...redactPaths], censor: "[redacted]" },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination === undefined ? pino(config) : pino(config, options.destination);
}

export type { Logger } from "pino";
