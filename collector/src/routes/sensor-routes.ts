import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses, jsonResponse } from "../http/schemas.js";
import { createRouter, type RouteModule } from "../http/types.js";
import { createPageCache, type PageCache } from "../sensors/page-cache.js";
import type { SensorPage, SensorQueries } from "../sensors/queries.js";
import {
  activityQuery,
  activitySchema,
  deviceSchema,
  listSensorsQuery,
  locationSchema,
  noQuery,
  sensorNameParams,
  sensorStatusSchema,
  sensorSummarySchema,
} from "./sensor-schemas.js";

/**
 * The sensor endpoints of the seed (DESIGN.md "sensors"): the fleet list, one sensor's status
 * and devices, recent status changes, and locations. Reads only; every answer comes from the
 * sensor queries as they return it.
 */

const listSensors = createRoute({
  method: "get",
  path: "/sensors",
  tags: ["sensors"],
  summary: "List sensors by name, a page at a time (filters: location, status; limit, after)",
  description:
    "Pages are cached per query for up to 1 s (counted from when the database was read): an answer " +
    "may be up to 1 s old, so a status change shows here within 1 s. Concurrent requests for the same " +
    "page share one database query. `/sensors/{name}/status` and the WebSocket feed are not cached.",
  request: { query: listSensorsQuery },
  responses: {
    200: jsonResponse(
      z.object({
        sensors: z.array(sensorSummarySchema),
        next_after: z
          .string()
          .nullable()
          .openapi({ description: "Pass as `after` for the next page; null on the last page" }),
      }),
      "Sensors by name",
    ),
    ...errorResponses(400, 401, 403),
  },
});

const sensorStatus = createRoute({
  method: "get",
  path: "/sensors/{name}/status",
  tags: ["sensors"],
  summary: "One sensor's computed status and its latest full report",
  request: { params: sensorNameParams, query: noQuery },
  responses: {
    200: jsonResponse(sensorStatusSchema, "The sensor"),
    ...errorResponses(400, 401, 403, 404),
  },
});

const sensorDevices = createRoute({
  method: "get",
  path: "/sensors/{name}/devices",
  tags: ["sensors"],
  summary: "One sensor's network interfaces, as of its latest heartbeat",
  request: { params: sensorNameParams, query: noQuery },
  responses: {
    200: jsonResponse(z.object({ sensor: z.string(), devices: z.array(deviceSchema) }), "Devices by name"),
    ...errorResponses(400, 401, 403, 404),
  },
});

const activity = createRoute({
  method: "get",
  path: "/sensors/activity",
  tags: ["sensors"],
  summary: "Recent sensor status changes, newest first (since, limit 1-1000)",
  request: { query: activityQuery },
  responses: {
    200: jsonResponse(z.object({ activity: z.array(activitySchema) }), "Status changes"),
    ...errorResponses(400, 401, 403),
  },
});

const locations = createRoute({
  method: "get",
  path: "/locations",
  tags: ["sensors"],
  summary: "Locations with their sensors counted by status",
  request: { query: noQuery },
  responses: {
    200: jsonResponse(z.object({ locations: z.array(locationSchema) }), "Locations by name"),
    ...errorResponses(400, 401, 403),
  },
});

/** Dependencies of {@link createSensorRoutes}. */
export interface SensorRoutesDeps {
  readonly queries: SensorQueries;
  /** Cache of `GET /sensors` pages; default: a fresh one with a 1 s TTL (see `page-cache.ts`). */
  readonly pageCache?: PageCache<SensorPage>;
}

/**
 * What a caller sees of a listed sensor. Every role that may list sensors (viewer, analyst,
 * admin) gets the same summary, so one cached page serves them all; a field shown to some roles
 * only would make this depend on the role, and so split the cache by it.
 */
const listShape = "summary";

/**
 * `GET /sensors`, `/sensors/{name}/status`, `/sensors/{name}/devices`, `/sensors/activity` and
 * `/locations`. An unknown sensor is a 404, a malformed name or filter a 400.
 */
export function createSensorRoutes(deps: SensorRoutesDeps): RouteModule {
  const { queries } = deps;
  const pageCache = deps.pageCache ?? createPageCache<SensorPage>();
  const routes = createRouter()
    .openapi(listSensors, async (c) => {
      const { location, status, limit, after } = c.req.valid("query");
      // The validated query is all of it (unknown keys are refused), in a fixed order.
      const key = JSON.stringify([listShape, location ?? null, status ?? null, limit, after ?? null]);
      const page = await pageCache.get(key, () =>
        queries.listSensorsPage({ location, status, limit, after }),
      );
      // The database built the array; it is passed through, not parsed and re-serialised.
      const body = `{"sensors":${page.json},"next_after":${JSON.stringify(page.nextAfter)}}`;
      return c.body(body, 200, { "content-type": "application/json" }) as never;
    })
    .openapi(activity, async (c) => {
      const { since, limit } = c.req.valid("query");
      const changes = await queries.sensorActivity({
        limit,
        ...(since === undefined ? {} : { since: new Date(since) }),
      });
      return c.json({ activity: changes }, 200);
    })
    .openapi(sensorStatus, async (c) => c.json(await queries.getSensorStatus(c.req.valid("param").name), 200))
    .openapi(sensorDevices, async (c) =>
      c.json(await queries.getSensorDevices(c.req.valid("param").name), 200),
    )
    .openapi(locations, async (c) => c.json({ locations: await queries.listLocations() }, 200));
  return { routes };
}
