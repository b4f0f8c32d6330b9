import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses, jsonResponse } from "../http/schemas.js";
import { createRouter, type RouteModule } from "../http/types.js";
import type { AuditLog } from "./audit-log.js";

const auditQuery = z.strictObject({
  actor: z.string().min(1).max(128).optional(),
  action: z.string().min(1).max(64).optional(),
  from: z.iso.datetime({ offset: true }).optional().openapi({ description: "Inclusive, RFC 3339" }),
  to: z.iso.datetime({ offset: true }).optional().openapi({ description: "Exclusive, RFC 3339" }),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

const auditEntry = z
  .object({
    id: z.number().int(),
    at: z.string(),
    actor: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    ip: z.string().nullable(),
  })
  .openapi("AuditEntry");

const auditPage = z
  .object({
    entries: z.array(auditEntry),
    total: z.number().int(),
    limit: z.number().int(),
    offset: z.number().int(),
    next_offset: z.number().int().nullable(),
  })
  .openapi("AuditPage");

const listAudit = createRoute({
  method: "get",
  path: "/admin/audit",
  tags: ["admin"],
  summary: "Audit log, newest first (filters: actor, action, from, to; paginated)",
  request: { query: auditQuery },
  responses: { 200: jsonResponse(auditPage, "One page of entries"), ...errorResponses(400, 401, 403) },
});

/** Dependencies of {@link createAuditRoutes}. */
export interface AuditRoutesDeps {
  readonly audit: AuditLog;
}

/** `GET /admin/audit`. */
export function createAuditRoutes(deps: AuditRoutesDeps): RouteModule {
  const routes = createRouter().openapi(listAudit, async (c) => {
    const query = c.req.valid("query");
    const { entries, total } = await deps.audit.list({
      actor: query.actor,
      action: query.action,
      from: query.from === undefined ? undefined : new Date(query.from),
      to: query.to === undefined ? undefined : new Date(query.to),
      limit: query.limit,
      offset: query.offset,
    });
    const next = query.offset + entries.length;
    return c.json(
      {
        entries: entries.map((entry) => ({ ...entry, at: entry.at.toISOString() })),
        total,
        limit: query.limit,
        offset: query.offset,
        next_offset: next < total ? next : null,
      },
      200,
    );
  });
  return { routes };
}
