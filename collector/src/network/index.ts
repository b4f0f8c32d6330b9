/**
 * The network map (issue #7): locations with site metadata, the subnet map (manual entries and
 * entries learned from the agents' subnet summaries), address lookup with a per-collector cache,
 * traffic per location and between locations over rollups of `subnet_traffic`, and the routes.
 */

export { type Prefix, parsePrefix } from "./cidr.js";
export { type NetworkConfig, networkConfigSchema } from "./config.js";
export { type LearnReport, type LearnRule, learn } from "./learn.js";
export {
  addressKey,
  bestEntryOrder,
  homeLateral,
  type LookupResult,
  lookupAddresses,
  type MapMatch,
  type MapSource,
} from "./lookup.js";
export {
  createLookupCache,
  type LocationLookup,
  type LookupCacheOptions,
  type LookupCacheStats,
  lookupCacheChannel,
} from "./lookup-cache.js";
export {
  createNetworkMaintainer,
  type MaintenanceReport,
  type NetworkMaintainer,
  type NetworkMaintainerOptions,
  networkLockKey,
} from "./maintainer.js";
export {
  createNetworkRoutes,
  type NetworkRoutesDeps,
  networkPermissions,
  type RunningNetwork,
  type StartNetworkDeps,
  startNetwork,
} from "./service.js";
