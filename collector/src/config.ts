import {
  type ConfigSources,
  collectorTlsConfigSchema,
  collectorTlsEnv,
  type EnvBinding,
  hostPort,
  loadConfig,
} from "@pcapfleet/core";
import { z } from "zod";
import { authConfigSchema } from "./auth/config.js";
import { jobsConfigSchema } from "./jobs/config.js";
import { networkConfigSchema } from "./network/config.js";
import { partitionConfigSchema } from "./partitions/config.js";
import { sensorThresholdsSchema } from "./sensors/thresholds.js";

const logLevel = z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]);

const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\//, "expected a postgres:// or postgresql:// URL")
  .optional();
const redisUrl = z
  .string()
  .regex(/^rediss?:\/\//, "expected a redis:// or rediss:// URL")
  .optional();

/** Schema of the collector's configuration (YAML file keys, camelCase). */
export const collectorConfigSchema = z
  .object({
    /** HTTP API and dashboard address. */
    httpListen: hostPort.prefault("127.0.0.1:8080"),
    /** gRPC address (agents' heartbeats, automation). */
    grpcListen: hostPort.prefault("127.0.0.1:50051"),
    /** Data directory: embedded database and job results. */
    dataDir: z.string().min(1).default("./data"),
    /** Real PostgreSQL; the embedded PGlite under dataDir when absent. */
    databaseUrl: postgresUrl,
    /** Real Redis; an in-process implementation when absent. */
    redisUrl,
    /** Password of `admin` created at first start; random and logged once when absent. */
    adminPassword: z.string().min(8, "must be at least 8 characters").optional(),
    logLevel: logLevel.default("info"),
    /** Tokens, keys, login rate limits, LDAP. */
    auth: authConfigSchema.prefault({}),
    /** When a sensor counts as degraded or offline. */
    sensorStatus: sensorThresholdsSchema.prefault({}),
    /** Days each time-partitioned table keeps, and days of partitions created ahead. */
    partitions: partitionConfigSchema.prefault({}),
    /** The job engine: concurrency, leases, retries, result size and retention. */
    jobs: jobsConfigSchema.prefault({}),
    /** The network map: rollups and learner schedule, learning rule, lookup cache. */
    network: networkConfigSchema.prefault({}),
    /**
     * TLS on the gRPC server and on the channels to agents (ADR 0018); callers must present a
     * certificate only with `requireClientCert`. Plaintext when absent.
     */
    tls: collectorTlsConfigSchema.optional(),
  })
  .strict();

/** The collector's validated, frozen configuration. */
export type CollectorConfig = Readonly<z.output<typeof collectorConfigSchema>>;

/** Environment variables of the collector and the config keys they set (DESIGN.md). */
export const collectorEnv: Readonly<Record<string, EnvBinding>> = {
  PCAPFLEET_HTTP_LISTEN: { path: "httpListen" },
  PCAPFLEET_GRPC_LISTEN: { path: "grpcListen" },
  PCAPFLEET_DATA_DIR: { path: "dataDir" },
  DATABASE_URL: { path: "databaseUrl" },
  REDIS_URL: { path: "redisUrl" },
  PCAPFLEET_ADMIN_PASSWORD: { path: "adminPassword" },
  PCAPFLEET_LOG_LEVEL: { path: "logLevel" },
  ...collectorTlsEnv,
};

/** Loads the collector's configuration from an optional YAML file and the environment (which wins). */
export function loadCollectorConfig(sources: ConfigSources): CollectorConfig {
  return loadConfig(collectorConfigSchema, collectorEnv, sources);
}
