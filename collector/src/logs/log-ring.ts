/**
 * The admin log viewer's source (`GET /api/v1/admin/logs`): the collector's most recent log
 * lines, kept in memory as a pino destination beside standard output. Bounded by line count and
 * bytes; lines are stored as pino wrote them (already redacted) and parsed only when read.
 * Each collector holds its own lines: behind a load balancer the viewer shows the collector that
 * answered, named in every line by `hostname`/`pid`.
 */
import pino, { type DestinationStream, levels } from "pino";

/** Filters of {@link LogRing.recent}. */
export interface LogQuery {
  /** Minimum level name (trace..fatal). */
  readonly level?: string;
  /** Only lines at or after this time. */
  readonly since?: Date;
  /** Only lines whose text contains this (case-insensitive). */
  readonly contains?: string;
  /** At most this many lines, newest last. Default 200. */
  readonly limit?: number;
}

/** One log line as the API returns it. */
export type LogLine = Record<string, unknown> & { level: string; time: string; msg: string };

/** See {@link createLogRing}. */
export interface LogRing extends DestinationStream {
  /** The newest matching lines, oldest first. */
  recent(query?: LogQuery): LogLine[];
  /** Lines held now. */
  size(): number;
}

/** Keeps the last `maxLines` lines (and at most `maxBytes` of text). */
export function createLogRing(maxLines = 2000, maxBytes = 4 * 1024 * 1024): LogRing {
  const lines: string[] = [];
  let bytes = 0;
  return {
    write(chunk: string) {
      for (const line of chunk.split("\n")) {
        if (line === "") continue;
        lines.push(line);
        bytes += line.length;
      }
      while (lines.length > maxLines || (bytes > maxBytes && lines.length > 1))
        bytes -= lines.shift()?.length ?? 0;
    },
    size: () => lines.length,
    recent(query = {}) {
      const minLevel = query.level === undefined ? 0 : (levels.values[query.level] ?? 0);
      const since = query.since?.getTime();
      const needle = query.contains?.toLowerCase();
      const limit = Math.max(1, Math.min(query.limit ?? 200, lines.length || 1));
      const out: LogLine[] = [];
      for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
        const text = lines[i] as string;
        if (needle !== undefined && !text.toLowerCase().includes(needle)) continue;
        const line = parse(text);
        if (line === undefined || line.levelValue < minLevel) continue;
        if (since !== undefined && Date.parse(line.time) < since) continue;
        const { levelValue: _levelValue, ...rest } = line;
        out.push(rest);
      }
      return out.reverse();
    },
  };
}

function parse(text: string): (LogLine & { levelValue: number }) | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const levelValue = typeof record["level"] === "number" ? record["level"] : 30;
  return {
    ...record,
    levelValue,
    level: levels.labels[levelValue] ?? String(levelValue),
    time:
      typeof record["time"] === "string"
        ? record["time"]
        : new Date(Number(record["time"] ?? 0)).toISOString(),
    msg: typeof record["msg"] === "string" ? record["msg"] : "",
  };
}

/** Standard output plus the ring: the destination the collector's logger writes to. */
export function teeToRing(ring: LogRing): DestinationStream {
  return pino.multistream([{ stream: process.stdout }, { stream: ring }]);
}
