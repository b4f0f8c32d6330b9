import { statfs } from "node:fs/promises";
import { resolve } from "node:path";
import { z } from "@hono/zod-openapi";
import { AppError } from "@pcapfleet/core";
import type { Db } from "../db/index.js";
import { addDays, partitionDay, partitionName } from "../partitions/days.js";

/**
 * What `GET /admin/storage` reports: the database's size, each table's size with its
 * partitions summed into the partitioned table (a reader wants "sensor_health: 3 GB", not 30
 * daily rows), row estimates, the span of daily partitions, and how full the data directory's
 * filesystem is.
 */

const partitionSchema = z.object({ name: z.string(), from: z.string(), to: z.string() });

/** One table (a partitioned table counts its partitions). */
export const tableStorageSchema = z
  .object({
    name: z.string(),
    partitioned: z.boolean(),
    /** Leaf partitions, the default one included; 0 for a plain table. */
    partitions: z.number().int(),
    bytes: z
      .number()
      .int()
      .openapi({ description: "Heap, TOAST and indexes of the table and its partitions" }),
    index_bytes: z.number().int(),
    row_estimate: z.number().int().nullable().openapi({
      description: "Planner estimate (or live-tuple count before the first ANALYZE); null when unknown",
    }),
    oldest_partition: partitionSchema
      .nullable()
      .openapi({ description: "Oldest daily partition, [from, to)" }),
    newest_partition: partitionSchema.nullable(),
  })
  .openapi("TableStorage");

/** Filesystem figures of the data directory; `error` set (and figures null) when unreadable. */
export const dataDirSchema = z
  .object({
    path: z.string(),
    total_bytes: z.number().nullable(),
    free_bytes: z.number().nullable(),
    available_bytes: z.number().nullable(),
    used_bytes: z.number().nullable(),
    used_percent: z.number().nullable(),
    error: z.string().nullable(),
  })
  .openapi("DataDirUsage");

/** One table's storage, as reported. */
export type TableStorage = z.infer<typeof tableStorageSchema>;
/** The data directory's filesystem, as reported. */
export type DataDirUsage = z.infer<typeof dataDirSchema>;

interface RelationRow {
  root: string;
  name: string;
  kind: string;
  is_partition: boolean;
  bytes: number;
  index_bytes: number;
  rows: number | null;
}

/** `pg_database_size` of the current database. */
export async function databaseSize(db: Db): Promise<number> {
  const { rows } = await db.query<{ bytes: number }>("SELECT pg_database_size(current_database()) AS bytes");
  return rows[0]?.bytes ?? 0;
}

/**
 * Tables of the current schema, largest first. Partitions are folded into their top-most
 * parent (`pg_partition_root`), so nested partitioning sums correctly too.
 */
export async function tableStorage(db: Db): Promise<TableStorage[]> {
  const { rows } = await db.query<RelationRow>(
    `SELECT r.relname AS root, c.relname AS name, c.relkind::text AS kind, c.relispartition AS is_partition,
            pg_total_relation_size(c.oid) AS bytes, pg_indexes_size(c.oid) AS index_bytes,
            CASE WHEN c.reltuples >= 0 THEN c.reltuples::int8 ELSE s.n_live_tup END AS rows
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_class r ON r.oid = coalesce(pg_partition_root(c.oid), c.oid)
       LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
      WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
      ORDER BY r.relname, c.relname`,
  );
  const tables = new Map<string, TableStorage & { days: number[] }>();
  for (const row of rows) {
    let table = tables.get(row.root);
    if (table === undefined) {
      table = {
        name: row.root,
        partitioned: false,
        partitions: 0,
        bytes: 0,
        index_bytes: 0,
        row_estimate: null,
        oldest_partition: null,
        newest_partition: null,
        days: [],
      };
      tables.set(row.root, table);
    }
    if (row.name === row.root && row.kind === "p") table.partitioned = true;
    // Only leaves hold rows; a partitioned table (or sub-partition) has no storage of its own.
    if (row.kind !== "r") continue;
    if (row.is_partition) {
      table.partitions += 1;
      const day = partitionDay(row.root, row.name);
      if (day !== undefined) table.days.push(day);
    }
    table.bytes += row.bytes;
    table.index_bytes += row.index_bytes;
    if (row.rows !== null) table.row_estimate = (table.row_estimate ?? 0) + row.rows;
  }
  const span = (root: string, day: number | undefined) =>
    day === undefined
      ? null
      : {
          name: partitionName(root, day),
          from: new Date(day).toISOString(),
          to: new Date(addDays(day, 1)).toISOString(),
        };
  return [...tables.values()]
    .map(({ days, ...table }) => {
      days.sort((a, b) => a - b);
      return {
        ...table,
        oldest_partition: span(table.name, days[0]),
        newest_partition: span(table.name, days.at(-1)),
      };
    })
    .sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
}

/** Size and free space of the filesystem holding `dataDir` (statfs). Never throws. */
export async function dataDirUsage(dataDir: string): Promise<DataDirUsage> {
  const path = resolve(dataDir);
  try {
    const fs = await statfs(path);
    const total = fs.blocks * fs.bsize;
    const free = fs.bfree * fs.bsize;
    const used = total - free;
    // As df computes it: used over what non-root users could ever fill (used + available).
    const usable = used + fs.bavail * fs.bsize;
    return {
      path,
      total_bytes: total,
      free_bytes: free,
      available_bytes: fs.bavail * fs.bsize,
      used_bytes: used,
      used_percent: usable === 0 ? 0 : Math.round((used / usable) * 10_000) / 100,
      error: null,
    };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? AppError.from(error).code;
    return {
      path,
      total_bytes: null,
      free_bytes: null,
      available_bytes: null,
      used_bytes: null,
      used_percent: null,
      error: `cannot read ${path}: ${code}`,
    };
  }
}
