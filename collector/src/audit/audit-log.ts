import type { Queryable } from "../db/index.js";

/**
 * The audit log: who did what to which target, when and from where. Details must never carry
 * secrets; callers pass only the changed field names and non-secret values.
 */

/** One audit record to write. */
export interface AuditRecord {
  readonly actor: string;
  /** Dotted verb, e.g. `user.create`. */
  readonly action: string;
  readonly target: string | null;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly ip: string | null;
  /** Defaults to now (the database clock). */
  readonly at?: Date;
}

/** One stored audit entry. */
export interface AuditEntry {
  readonly id: number;
  readonly at: Date;
  readonly actor: string;
  readonly action: string;
  readonly target: string | null;
  readonly details: Record<string, unknown>;
  readonly ip: string | null;
}

/** Filters and page of {@link AuditLog.list}. */
export interface AuditQuery {
  readonly actor?: string | undefined;
  readonly action?: string | undefined;
  /** Inclusive lower bound. */
  readonly from?: Date | undefined;
  /** Exclusive upper bound. */
  readonly to?: Date | undefined;
  readonly limit: number;
  readonly offset: number;
}

/** Reads and writes `audit_log`. */
export interface AuditLog {
  /** Writes one entry; pass a transaction to make it atomic with the change it records. */
  record(entry: AuditRecord, q?: Queryable): Promise<void>;
  /** Newest first; `total` counts all matches. */
  list(query: AuditQuery): Promise<{ entries: AuditEntry[]; total: number }>;
}

/** Creates an {@link AuditLog} over `db`. */
export function createAuditLog(db: Queryable): AuditLog {
  return {
    async record(entry, q = db) {
      await q.query(
        `INSERT INTO audit_log (at, actor, action, target, details, ip)
         VALUES (COALESCE($1, now()), $2, $3, $4, $5, $6)`,
        [
          entry.at ?? null,
          entry.actor,
          entry.action,
          entry.target,
          JSON.stringify(entry.details ?? {}),
          entry.ip,
        ],
      );
    },
    async list(query) {
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (clause: string, value: unknown): void => {
        params.push(value);
        where.push(clause.replace("?", `$${params.length}`));
      };
      if (query.actor !== undefined) add("actor = ?", query.actor);
      if (query.action !== undefined) add("action = ?", query.action);
      if (query.from !== undefined) add("at >= ?", query.from);
      if (query.to !== undefined) add("at < ?", query.to);
      const filter = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`;
      const total = await db.query<{ n: number }>(
        `SELECT count(*)::int8 AS n FROM audit_log ${filter}`,
        params,
      );
      const { rows } = await db.query<AuditEntry>(
        `SELECT id, at, actor, action, target, details, ip FROM audit_log ${filter}
         ORDER BY at DESC, id DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, query.limit, query.offset],
      );
      return { entries: rows, total: total.rows[0]?.n ?? 0 };
    },
  };
}
