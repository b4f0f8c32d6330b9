/**
 * The network read endpoints (DESIGN.md "network", the seed's `network.py` and `analytics.py`):
 * locations with sensors, subnets and traffic; traffic per location and between locations;
 * active subnets; address lookup through the cache; top subnets and traffic over time. Every
 * window is bounded (`window.ts`) and every location filter must name a known location, so bad
 * input is a 400 naming it.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { AppError, ErrorCode } from "@pcapfleet/core";
import type { Queryable } from "../db/index.js";
import { errorResponses, jsonResponse } from "../http/schemas.js";
import { createRouter, type RouteModule } from "../http/types.js";
import { parsePrefix } from "./cidr.js";
import { networkLocations } from "./location-queries.js";
import type { LocationLookup } from "./lookup-cache.js";
import {
  activeSubnetSchema,
  locationsQuery,
  lookupQuery,
  lookupResultSchema,
  networkLocationSchema,
  overTimeQuery,
  pointSchema,
  subnetsQuery,
  topQuery,
  topSubnetSchema,
  trafficQuery,
  trafficSchema,
} from "./schemas.js";
import { activeSubnets, topSubnets } from "./subnet-queries.js";
import { trafficOverTime, trafficSummary } from "./traffic-queries.js";
import { bucketWindow, totalsWindow } from "./window.js";

const tags = ["network"];
const errors = errorResponses(400, 401, 403);
const windowOut = { from: z.string(), to: z.string() };

const locations = createRoute({
  method: "get",
  path: "/network/locations",
  tags,
  summary:
    "Locations with metadata, sensors by status, map entries and traffic over a window (default: a day)",
  request: { query: locationsQuery },
  responses: {
    200: jsonResponse(z.object({ ...windowOut, locations: z.array(networkLocationSchema) }), "Locations"),
    ...errors,
  },
});

const traffic = createRoute({
  method: "get",
  path: "/network/traffic",
  tags,
  summary: "Traffic per location (totals and series by minute, hour or day) and between locations",
  description:
    "Traffic at a location is what its sensors saw (each packet once per sensor); traffic from A to B " +
    "is what A's sensors saw going to destinations the subnet map places at B. Windows: by minute at " +
    "most 6 hours, by hour 31 days, by day 400 days. Rollups are refreshed every `network.intervalS`.",
  request: { query: trafficQuery },
  responses: { 200: jsonResponse(trafficSchema, "Traffic"), ...errors },
});

const subnets = createRoute({
  method: "get",
  path: "/network/subnets",
  tags,
  summary: "Subnets with traffic in a window (default: a day): location, where seen, last seen, volume",
  request: { query: subnetsQuery },
  responses: {
    200: jsonResponse(
      z.object({ ...windowOut, subnets: z.array(activeSubnetSchema), truncated: z.boolean() }),
      "Subnets, biggest first",
    ),
    ...errors,
  },
});

const lookup = createRoute({
  method: "get",
  path: "/network/lookup",
  tags,
  summary: "Where the subnet map places addresses (manual entries first, then the longest prefix)",
  request: { query: lookupQuery },
  responses: {
    200: jsonResponse(z.object({ results: z.array(lookupResultSchema) }), "One result per address"),
    ...errors,
  },
});

const top = createRoute({
  method: "get",
  path: "/network/analytics/top-subnets",
  tags,
  summary: "The subnets with the most bytes in a window (default: a day)",
  request: { query: topQuery },
  responses: {
    200: jsonResponse(z.object({ ...windowOut, subnets: z.array(topSubnetSchema) }), "Top"),
    ...errors,
  },
});

const overTime = createRoute({
  method: "get",
  path: "/network/analytics/traffic-over-time",
  tags,
  summary: "One traffic series: a location, a prefix, or a location's traffic to another location",
  request: { query: overTimeQuery },
  responses: {
    200: jsonResponse(
      z.object({ ...windowOut, bucket: z.string(), series: z.array(pointSchema) }),
      "Points by time",
    ),
    ...errors,
  },
});

/** Dependencies of {@link createNetworkReadRoutes}. */
export interface NetworkReadDeps {
  readonly db: Queryable;
  readonly lookup: LocationLookup;
  /** Clock, for tests. */
  readonly now?: () => Date;
}

/** At most this many addresses per lookup request. */
const maxLookupAddresses = 100;

/** @throws AppError `invalid_argument` naming the first of `names` that is not a location. */
export async function requireLocations(db: Queryable, names: readonly (string | undefined)[]): Promise<void> {
  const wanted = [...new Set(names.filter((n): n is string => n !== undefined))];
  if (wanted.length === 0) return;
  const { rows } = await db.query<{ name: string }>(
    "SELECT name FROM locations WHERE name = ANY ($1::text[])",
    [wanted],
  );
  const known = new Set(rows.map((r) => r.name));
  const unknown = wanted.find((n) => !known.has(n));
  if (unknown !== undefined) {
    throw new AppError(ErrorCode.InvalidArgument, `unknown location ${JSON.stringify(unknown)}`);
  }
}

/** The viewer routes of the network map. */
export function createNetworkReadRoutes(deps: NetworkReadDeps): RouteModule {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const out = (w: { from: Date; to: Date }) => ({ from: w.from.toISOString(), to: w.to.toISOString() });
  const routes = createRouter()
    .openapi(locations, async (c) => {
      const window = totalsWindow(c.req.valid("query"), now());
      return c.json({ ...out(window), locations: await networkLocations(db, window) }, 200);
    })
    .openapi(traffic, async (c) => {
      const query = c.req.valid("query");
      const window = bucketWindow(query, query.bucket, now());
      await requireLocations(db, [query.location]);
      return c.json(await trafficSummary(db, window, query.bucket, query.location), 200);
    })
    .openapi(subnets, async (c) => {
      const query = c.req.valid("query");
      const window = totalsWindow(query, now());
      await requireLocations(db, [query.location]);
      const found = await activeSubnets(db, window, {
        location: query.location,
        source: query.source,
        within: query.within === undefined ? undefined : parsePrefix(query.within, "within"),
        limit: query.limit,
      });
      return c.json({ ...out(window), ...found }, 200);
    })
    .openapi(lookup, async (c) => {
      const addresses = c.req
        .valid("query")
        .address.split(",")
        .map((a) => a.trim());
      if (addresses.length > maxLookupAddresses) {
        throw new AppError(ErrorCode.InvalidArgument, `address: at most ${maxLookupAddresses} addresses`);
      }
      const found = await deps.lookup.lookup(addresses);
      return c.json({ results: [...found.values()] }, 200);
    })
    .openapi(top, async (c) => {
      const query = c.req.valid("query");
      const window = totalsWindow(query, now());
      await requireLocations(db, [query.location]);
      const rows = await topSubnets(db, window, query);
      return c.json({ ...out(window), subnets: rows }, 200);
    })
    .openapi(overTime, async (c) => {
      const query = c.req.valid("query");
      const window = bucketWindow(query, query.bucket, now());
      await requireLocations(db, [query.location, query.to_location]);
      const series = await trafficOverTime(db, window, query.bucket, {
        location: query.location,
        toLocation: query.to_location,
        prefix: query.prefix === undefined ? undefined : parsePrefix(query.prefix, "prefix"),
        direction: query.direction,
      });
      return c.json({ ...out(window), bucket: query.bucket, series }, 200);
    });
  return { routes };
}
