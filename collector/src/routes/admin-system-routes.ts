import { createRoute, z } from "@hono/zod-openapi";
import { AppError } from "@pcapfleet/core";
import { levels } from "pino";
import { errorResponses, jsonResponse } from "../http/schemas.js";
import { createRouter, type RouteModule } from "../http/types.js";
import type { LogRing } from "../logs/log-ring.js";
import { createSensorQueries } from "../sensors/queries.js";
import {
  type CollectorProbeDeps,
  checkCollector,
  collectorInfoSchema,
  dbProbeSchema,
  kvProbeSchema,
  processFacts,
  processFactsSchema,
} from "./probes.js";
import { noQuery, statusCountsSchema } from "./sensor-schemas.js";
import { databaseSize, dataDirSchema, dataDirUsage, tableStorage, tableStorageSchema } from "./storage.js";

/**
 * The admin's view of this collector: `GET /admin/system/status` (process, dependencies,
 * sensors by status), `GET /admin/storage` (database tables and partitions, data directory)
 * and `GET /admin/logs` (recent log lines from the in-memory ring). Each collector answers for
 * itself; behind a load balancer the answer names the process (`hostname`, `pid`).
 */

const systemStatusSchema = collectorInfoSchema
  .extend({
    process: processFactsSchema,
    database: dbProbeSchema.extend({
      size_bytes: z.number().nullable().openapi({ description: "pg_database_size; null when unreachable" }),
      server_version: z.string().nullable(),
    }),
    kv: kvProbeSchema,
    sensors: statusCountsSchema
      .extend({ total: z.number().int() })
      .nullable()
      .openapi({ description: "null when the database does not answer" }),
    log_lines: z.number().int().openapi({ description: "Lines held by the log viewer's ring" }),
  })
  .openapi("SystemStatus");

const systemStatus = createRoute({
  method: "get",
  path: "/admin/system/status",
  tags: ["admin"],
  summary: "This collector: version, uptime, memory, CPU, database, kv and sensors by status",
  request: { query: noQuery },
  responses: { 200: jsonResponse(systemStatusSchema, "System status"), ...errorResponses(400, 401, 403) },
});

const storageSchema = z
  .object({
    database: z.object({ kind: z.enum(["postgres", "pglite"]), size_bytes: z.number() }),
    tables: z.array(tableStorageSchema),
    data_dir: dataDirSchema,
  })
  .openapi("Storage");

const storage = createRoute({
  method: "get",
  path: "/admin/storage",
  tags: ["admin"],
  summary: "Database size per table (partitions summed), row estimates, partition span, data dir usage",
  request: { query: noQuery },
  responses: { 200: jsonResponse(storageSchema, "Storage"), ...errorResponses(400, 401, 403, 503) },
});

const levelNames = Object.keys(levels.values) as [string, ...string[]];

const logsQuery = z.strictObject({
  level: z.enum(levelNames).optional().openapi({ description: "Minimum level" }),
  since: z.iso.datetime({ offset: true }).optional().openapi({ description: "Lines at or after (RFC 3339)" }),
  contains: z.string().min(1).max(200).optional().openapi({ description: "Case-insensitive text match" }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(200)
    .openapi({ description: "1-1000, default 200" }),
});

const logLineSchema = z
  .object({ level: z.string(), time: z.string(), msg: z.string() })
  .catchall(z.unknown())
  .openapi("LogLine");

const logs = createRoute({
  method: "get",
  path: "/admin/logs",
  tags: ["admin"],
  summary: "Recent log lines of this collector, oldest first (level, since, contains, limit)",
  request: { query: logsQuery },
  responses: {
    200: jsonResponse(z.object({ lines: z.array(logLineSchema), count: z.number().int() }), "Log lines"),
    ...errorResponses(400, 401, 403),
  },
});

/** Dependencies of {@link createAdminSystemRoutes}: what it probes, plus what it reports on. */
export interface AdminSystemRoutesDeps extends CollectorProbeDeps {
  /** The ring the collector's logger writes to (`teeToRing`). */
  readonly logs: LogRing;
  /** The collector's data directory (PGlite, results), for its filesystem usage. */
  readonly dataDir: string;
}

/** Builds `GET /admin/system/status`, `GET /admin/storage` and `GET /admin/logs`. */
export function createAdminSystemRoutes(deps: AdminSystemRoutesDeps): RouteModule {
  const db = deps.db;
  const queries = createSensorQueries({ db });

  /** Figures that need the database; nulls when it fails, so the page still shows the rest. */
  async function databaseFacts(ok: boolean) {
    if (!ok) return { size_bytes: null, server_version: null, sensors: null };
    try {
      const [size, server, summary] = await Promise.all([
        databaseSize(db),
        db.query<{ v: string }>("SELECT current_setting('server_version') AS v"),
        queries.healthSummary(),
      ]);
      return { size_bytes: size, server_version: server.rows[0]?.v ?? null, sensors: summary.sensors };
    } catch (error) {
      if (AppError.from(error).isServerFault) throw error;
      return { size_bytes: null, server_version: null, sensors: null };
    }
  }

  const routes = createRouter()
    .openapi(systemStatus, async (c) => {
      const { database, kv: store, ...info } = await checkCollector(deps);
      const facts = await databaseFacts(database.ok);
      return c.json(
        {
          ...info,
          process: processFacts(),
          database: { ...database, size_bytes: facts.size_bytes, server_version: facts.server_version },
          kv: store,
          sensors: facts.sensors,
          log_lines: deps.logs.size(),
        },
        200,
      );
    })
    .openapi(storage, async (c) => {
      const [size, tables, dataDir] = await Promise.all([
        databaseSize(db),
        tableStorage(db),
        dataDirUsage(deps.dataDir),
      ]);
      return c.json({ database: { kind: db.kind, size_bytes: size }, tables, data_dir: dataDir }, 200);
    })
    .openapi(logs, (c) => {
      const { level, since, contains, limit } = c.req.valid("query");
      const lines = deps.logs.recent({
        limit,
        ...(level === undefined ? {} : { level }),
        ...(since === undefined ? {} : { since: new Date(since) }),
        ...(contains === undefined ? {} : { contains }),
      });
      return c.json({ lines, count: lines.length }, 200);
    });
  return { routes };
}
