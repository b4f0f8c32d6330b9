import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses, jsonResponse } from "../http/schemas.js";
import { createRouter, type RouteModule } from "../http/types.js";
import { createSensorQueries } from "../sensors/queries.js";
import {
  type CollectorProbeDeps,
  checkCollector,
  collectorInfoSchema,
  dbProbeSchema,
  kvProbeSchema,
} from "./probes.js";
import { fleetSummarySchema, noQuery } from "./sensor-schemas.js";

/**
 * `GET /health` (public, for load balancers and systemd watchdogs) and `GET /health/summary`
 * (the fleet at a glance for the dashboard). The collector is useful as long as its database
 * answers: without the key-value store it still serves (each collector alone), so a dead kv
 * makes it `degraded`, a dead database makes it unhealthy (503).
 */

const healthSchema = collectorInfoSchema
  .extend({
    status: z.enum(["ok", "degraded"]).openapi({ description: "degraded when a dependency fails" }),
    database: dbProbeSchema,
    kv: kvProbeSchema,
  })
  .openapi("Health");

const health = createRoute({
  method: "get",
  path: "/health",
  tags: ["system"],
  summary: "Liveness and dependency reachability (200 while the database answers, else 503)",
  request: { query: noQuery },
  responses: {
    200: jsonResponse(healthSchema, "The collector can serve"),
    503: jsonResponse(healthSchema, "The database does not answer"),
    ...errorResponses(400),
  },
});

const summarySchema = fleetSummarySchema.extend({ collector: healthSchema }).openapi("HealthSummary");

const summary = createRoute({
  method: "get",
  path: "/health/summary",
  tags: ["system"],
  summary: "Sensors by status, locations, PCAP held across the fleet, and this collector's health",
  request: { query: noQuery },
  responses: {
    200: jsonResponse(summarySchema, "Fleet summary"),
    ...errorResponses(400, 401, 403, 503),
  },
});

/** Dependencies of {@link createHealthRoutes}: what it probes. */
export type HealthRoutesDeps = CollectorProbeDeps;

/** Builds the health routes; see the module comment for what each status means. */
export function createHealthRoutes(deps: HealthRoutesDeps): RouteModule {
  const queries = createSensorQueries({ db: deps.db });

  async function check(): Promise<z.infer<typeof healthSchema>> {
    const probed = await checkCollector(deps);
    return { status: probed.database.ok && probed.kv.ok ? "ok" : "degraded", ...probed };
  }

  const routes = createRouter()
    .openapi(health, async (c) => {
      const result = await check();
      if (result.status !== "ok") {
        c.get("log").warn({ database: result.database, kv: result.kv }, "health: dependency unreachable");
      }
      return result.database.ok ? c.json(result, 200) : c.json(result, 503);
    })
    .openapi(summary, async (c) => {
      const collector = await check();
      // Without the database there is no fleet to summarise: the query's own error (503) says so.
      return c.json({ ...(await queries.healthSummary()), collector }, 200);
    });
  return { routes };
}
