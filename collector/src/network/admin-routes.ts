/**
 * The admin endpoints of the network map: create, update and delete locations; add and remove
 * manual subnet entries; clear the lookup cache of every collector. Every change is audited, and
 * every map change clears the lookup caches (a job routed a second later must see it).
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AuditLog } from "../audit/audit-log.js";
import type { Db } from "../db/index.js";
import { errorResponses, jsonBody, jsonResponse } from "../http/schemas.js";
import { type AppEnv, createRouter, type RouteModule, requireUser } from "../http/types.js";
import { parsePrefix } from "./cidr.js";
import type { LocationLookup } from "./lookup-cache.js";
import {
  createLocation,
  deleteLocation,
  type LocationFields,
  putManualEntry,
  removeManualEntries,
  updateLocation,
} from "./map-store.js";
import {
  createLocationBody,
  locationParams,
  locationRecordSchema,
  manualEntryBody,
  mapEntrySchema,
  removeEntryQuery,
  updateLocationBody,
} from "./schemas.js";

const tags = ["network"];

const addLocation = createRoute({
  method: "post",
  path: "/network/locations",
  tags,
  summary: "Create a location (description, coordinates, site metadata)",
  request: { body: jsonBody(createLocationBody) },
  responses: {
    201: jsonResponse(locationRecordSchema, "The location"),
    ...errorResponses(400, 401, 403, 409),
  },
});

const patchLocation = createRoute({
  method: "patch",
  path: "/network/locations/{name}",
  tags,
  summary: "Change a location's description, coordinates (null clears) or metadata (replaced whole)",
  request: { params: locationParams, body: jsonBody(updateLocationBody) },
  responses: {
    200: jsonResponse(locationRecordSchema, "The location"),
    ...errorResponses(400, 401, 403, 404),
  },
});

const removeLocation = createRoute({
  method: "delete",
  path: "/network/locations/{name}",
  tags,
  summary: "Delete a location no sensor reports, with its map entries",
  request: { params: locationParams },
  responses: { 204: { description: "Deleted" }, ...errorResponses(400, 401, 403, 404, 409) },
});

const addEntry = createRoute({
  method: "post",
  path: "/network/subnets",
  tags,
  summary: "Map a prefix to a location by hand (manual entries win over learned ones)",
  request: { body: jsonBody(manualEntryBody) },
  responses: {
    200: jsonResponse(mapEntrySchema, "The entry existed; its description was updated"),
    201: jsonResponse(mapEntrySchema, "The entry"),
    ...errorResponses(400, 401, 403),
  },
});

const removeEntry = createRoute({
  method: "delete",
  path: "/network/subnets",
  tags,
  summary: "Remove the manual entries of a prefix (at one location, or all)",
  request: { query: removeEntryQuery },
  responses: {
    200: jsonResponse(z.object({ removed: z.number().int() }), "Entries removed"),
    ...errorResponses(400, 401, 403, 404),
  },
});

const clearCache = createRoute({
  method: "post",
  path: "/network/locations/clear-cache",
  tags,
  summary: "Drop the subnet lookup cache of every collector",
  responses: {
    200: jsonResponse(z.object({ cleared: z.boolean() }), "Cleared"),
    ...errorResponses(401, 403),
  },
});

/** Dependencies of {@link createNetworkAdminRoutes}. */
export interface NetworkAdminDeps {
  readonly db: Db;
  readonly lookup: LocationLookup;
  readonly audit: AuditLog;
}

/** Body fields to {@link LocationFields}, leaving absent ones out. */
function fields(body: z.infer<typeof updateLocationBody>): LocationFields {
  return {
    ...(body.description === undefined ? {} : { description: body.description }),
    ...(body.latitude === undefined ? {} : { latitude: body.latitude }),
    ...(body.longitude === undefined ? {} : { longitude: body.longitude }),
    ...(body.metadata === undefined ? {} : { metadata: body.metadata }),
  };
}

/** The admin routes of the network map. */
export function createNetworkAdminRoutes(deps: NetworkAdminDeps): RouteModule {
  const { db, lookup, audit } = deps;
  const record = (c: Context<AppEnv>, action: string, target: string, details: Record<string, unknown>) =>
    audit.record({ actor: requireUser(c).username, action, target, details, ip: c.get("clientIp") });
  const routes = createRouter()
    .openapi(addLocation, async (c) => {
      const body = c.req.valid("json");
      const created = await createLocation(db, body.name, fields(body));
      await record(c, "location.create", body.name, { fields: Object.keys(fields(body)) });
      return c.json(created, 201);
    })
    .openapi(patchLocation, async (c) => {
      const { name } = c.req.valid("param");
      const changes = fields(c.req.valid("json"));
      const updated = await updateLocation(db, name, changes);
      await record(c, "location.update", name, { fields: Object.keys(changes) });
      return c.json(updated, 200);
    })
    .openapi(removeLocation, async (c) => {
      const { name } = c.req.valid("param");
      await deleteLocation(db, name);
      await lookup.clear();
      await record(c, "location.delete", name, {});
      return c.body(null, 204);
    })
    .openapi(addEntry, async (c) => {
      const body = c.req.valid("json");
      const prefix = parsePrefix(body.prefix, "prefix");
      const { entry, created } = await putManualEntry(db, {
        prefix,
        location: body.location,
        description: body.description,
      });
      await lookup.clear();
      await record(c, "subnet.map", prefix.text, { location: body.location, created });
      return c.json(entry, created ? 201 : 200);
    })
    .openapi(removeEntry, async (c) => {
      const query = c.req.valid("query");
      const prefix = parsePrefix(query.prefix, "prefix");
      const removed = await removeManualEntries(db, prefix, query.location);
      await lookup.clear();
      await record(c, "subnet.unmap", prefix.text, { location: query.location ?? null, removed });
      return c.json({ removed }, 200);
    })
    .openapi(clearCache, async (c) => {
      await lookup.clear();
      await record(c, "network.clear_cache", "lookup", {});
      return c.json({ cleared: true }, 200);
    });
  return { routes };
}
