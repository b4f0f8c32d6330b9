import { z } from "zod";
import type { PartitionedTable } from "./manager.js";

/**
 * The partition manager's configuration fragment (the lead wires it in as
 * `partitions: partitionConfigSchema.prefault({})`): days kept per table and days created ahead.
 */

const days = (fallback: number) => z.number().int().min(1).max(36_500).default(fallback);

/** Schema of the partition settings; every key has the default of `defaultPartitionedTables`. */
export const partitionConfigSchema = z
  .object({
    /** Daily partitions created ahead of today. */
    aheadDays: z.number().int().min(0).max(60).default(3),
    /** Days kept per table; older partitions are dropped. */
    retentionDays: z
      .object({
        sensorHealth: days(14),
        sensorStatusHistory: days(90),
        subnetTraffic: days(30),
        auditLog: days(365),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** Validated partition settings. */
export type PartitionConfig = Readonly<z.output<typeof partitionConfigSchema>>;

/** The managed tables with the retention of `config`. */
export function partitionedTablesFrom(config: PartitionConfig): PartitionedTable[] {
  const { retentionDays } = config;
  return [
    { table: "sensor_health", column: "received_at", retentionDays: retentionDays.sensorHealth },
    {
      table: "sensor_status_history",
      column: "changed_at",
      retentionDays: retentionDays.sensorStatusHistory,
    },
    { table: "subnet_traffic", column: "minute_start", retentionDays: retentionDays.subnetTraffic },
    { table: "audit_log", column: "at", retentionDays: retentionDays.auditLog },
  ];
}
