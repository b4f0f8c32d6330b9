/**
 * REST route modules for sensors, locations, health and the admin system views, mounted by
 * `createApp({modules})` under `/api/v1`.
 */
import type { Db } from "../db/index.js";
import type { RouteModule } from "../http/types.js";
import type { Kv } from "../kv/index.js";
import { createLogRing, type LogRing } from "../logs/log-ring.js";
import { createSensorQueries } from "../sensors/queries.js";
import { createAdminSystemRoutes } from "./admin-system-routes.js";
import { createHealthRoutes } from "./health-routes.js";
import { createSensorRoutes } from "./sensor-routes.js";

export { type AdminSystemRoutesDeps, createAdminSystemRoutes } from "./admin-system-routes.js";
export { createHealthRoutes, type HealthRoutesDeps } from "./health-routes.js";
export {
  type CollectorInfo,
  collectorInfo,
  defaultProbeTimeoutMs,
  type ProbeResult,
  type ProcessFacts,
  probeDb,
  probeKv,
  processFacts,
} from "./probes.js";
export { createSensorRoutes, type SensorRoutesDeps } from "./sensor-routes.js";
export { sensorNamePattern } from "./sensor-schemas.js";
export {
  type DataDirUsage,
  databaseSize,
  dataDirUsage,
  type TableStorage,
  tableStorage,
} from "./storage.js";

/** Everything {@link createCollectorRoutes} wires. */
export interface CollectorRoutesDeps {
  readonly db: Db;
  readonly kv: Kv;
  /** The ring the logger writes to; without one, `/admin/logs` answers with no lines. */
  readonly logs: LogRing | undefined;
  readonly dataDir: string;
  readonly version: string;
  readonly startedAt: Date;
}

/** The sensor, health and admin-system modules on one set of dependencies, for `main.ts`. */
export function createCollectorRoutes(deps: CollectorRoutesDeps): RouteModule[] {
  return [
    createSensorRoutes({ queries: createSensorQueries({ db: deps.db }) }),
    createHealthRoutes({ db: deps.db, kv: deps.kv, version: deps.version, startedAt: deps.startedAt }),
    createAdminSystemRoutes({ ...deps, logs: deps.logs ?? createLogRing() }),
  ];
}
