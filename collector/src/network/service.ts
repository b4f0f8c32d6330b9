/**
 * The network map assembled for the collector: the lookup cache (subscribed to clears), the
 * maintainer (rollups and learner, started), and the route modules with their permission
 * entries. `start-collector.ts` calls {@link startNetwork}; tests build the parts they need.
 */
import type { Logger } from "@pcapfleet/core";
import type { AuditLog } from "../audit/audit-log.js";
import type { PermissionEntry } from "../auth/permissions.js";
import type { Db } from "../db/index.js";
import type { RouteModule } from "../http/types.js";
import type { Kv } from "../kv/index.js";
import { createNetworkAdminRoutes } from "./admin-routes.js";
import type { NetworkConfig } from "./config.js";
import { createLookupCache, type LocationLookup } from "./lookup-cache.js";
import { createNetworkMaintainer, type NetworkMaintainer } from "./maintainer.js";
import { createNetworkReadRoutes } from "./routes.js";

/**
 * Permission entries of the network routes (relative to `/api/v1`). The central table already
 * lists the seed's four; they are repeated here, identically, so this module is complete alone.
 */
export const networkPermissions: readonly PermissionEntry[] = [
  ...[
    "/network/locations",
    "/network/traffic",
    "/network/subnets",
    "/network/lookup",
    "/network/analytics/top-subnets",
    "/network/analytics/traffic-over-time",
  ].map((path) => ({ method: "GET" as const, path, access: "viewer" as const })),
  { method: "POST", path: "/network/locations", access: "admin" },
  { method: "PATCH", path: "/network/locations/{name}", access: "admin" },
  { method: "DELETE", path: "/network/locations/{name}", access: "admin" },
  { method: "POST", path: "/network/subnets", access: "admin" },
  { method: "DELETE", path: "/network/subnets", access: "admin" },
  { method: "POST", path: "/network/locations/clear-cache", access: "admin" },
];

/** Dependencies of {@link createNetworkRoutes}. */
export interface NetworkRoutesDeps {
  readonly db: Db;
  readonly lookup: LocationLookup;
  readonly audit: AuditLog;
  /** Clock of the default windows, for tests. */
  readonly now?: () => Date;
}

/** The network routes (viewer reads, admin writes) as one module. */
export function createNetworkRoutes(deps: NetworkRoutesDeps): RouteModule {
  const read = createNetworkReadRoutes(deps);
  const admin = createNetworkAdminRoutes(deps);
  return { routes: read.routes.route("/", admin.routes), permissions: networkPermissions };
}

/** Dependencies of {@link startNetwork}. */
export interface StartNetworkDeps {
  readonly db: Db;
  readonly kv: Kv;
  readonly log: Logger;
  readonly audit: AuditLog;
  readonly config: NetworkConfig;
  /** Days `subnet_traffic` keeps (`partitions.retentionDays.subnetTraffic`). */
  readonly retentionDays: number;
}

/** The running network map of one collector. */
export interface RunningNetwork {
  readonly module: RouteModule;
  readonly lookup: LocationLookup;
  readonly maintainer: NetworkMaintainer;
  /** Stops the maintainer (waiting for its run) and the cache's subscription. */
  stop(): Promise<void>;
}

/** Builds the cache, starts the maintainer, and returns the routes. */
export async function startNetwork(deps: StartNetworkDeps): Promise<RunningNetwork> {
  const { db, kv, log, config } = deps;
  const lookup = await createLookupCache({
    db,
    kv,
    log,
    ttlMs: Math.round(config.cacheTtlS * 1000),
    maxEntries: config.cacheMaxEntries,
  });
  const maintainer = createNetworkMaintainer({
    db,
    log,
    rule: config,
    intervalS: config.intervalS,
    retentionDays: deps.retentionDays,
    onMapChange: () => lookup.clear(),
  });
  maintainer.start();
  return {
    module: createNetworkRoutes({ db, lookup, audit: deps.audit }),
    lookup,
    maintainer,
    async stop() {
      await maintainer.stop();
      await lookup.close();
    },
  };
}
