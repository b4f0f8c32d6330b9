/**
 * Daily partitions of the time-partitioned tables: created ahead, dropped past retention.
 */

export { type PartitionConfig, partitionConfigSchema, partitionedTablesFrom } from "./config.js";
export { partitionDay, partitionName } from "./days.js";
export {
  createPartitionManager,
  defaultPartitionedTables,
  type PartitionedTable,
  type PartitionManager,
  type PartitionManagerOptions,
  type PartitionRunReport,
  partitionLockKey,
} from "./manager.js";
