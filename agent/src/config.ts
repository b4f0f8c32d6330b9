import { hostname } from "node:os";
import {
  type ConfigSources,
  type EnvBinding,
  hostPort,
  loadConfig,
  parseList,
  tlsConfigSchema,
  tlsEnv,
} from "@pcapfleet/core";
import { z } from "zod";
import { captureConfigSchema } from "./capture/capture-config.js";

const logLevel = z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]);

/** Schema of the agent's configuration (YAML file keys, camelCase). */
export const agentConfigSchema = z
  .object({
    /** Sensor name the collector knows this host by. */
    sensor: z.string().min(1).max(128).default(hostname()),
    /** Location (site) of the sensor. */
    location: z.string().min(1).max(128).default("default"),
    /** Ring directories to serve. */
    stores: z.array(z.string().min(1)).default([]),
    /** Collector gRPC address the agent dials. */
    collector: hostPort.prefault("127.0.0.1:50051"),
    /** Address of the agent's own gRPC server. */
    listen: hostPort.prefault("127.0.0.1:50052"),
    /** Seconds between heartbeats. */
    heartbeatS: z.coerce.number().positive().max(3600).default(10),
    /** Directory of the agent's own state (indexes, heartbeat queue); never inside a store. */
    stateDir: z.string().min(1).default("./agent-state"),
    /**
     * host:port the collector should dial for this agent's CaptureService. Default: the listen
     * address, with a wildcard host (0.0.0.0, ::) replaced by the host name.
     */
    advertiseAddress: hostPort.optional(),
    /** Prefix lengths of the subnet traffic summaries sent with heartbeats. */
    summaryPrefixV4: z.coerce.number().int().min(8).max(32).default(24),
    summaryPrefixV6: z.coerce.number().int().min(16).max(128).default(64),
    /** A capture file unmodified for this long is taken as closed and indexed. */
    quietMs: z.coerce.number().int().min(0).max(3_600_000).default(5000),
    /**
     * Longest wait between redials of an unreachable collector (full-jitter exponential backoff
     * from 1 s). Large fleets keep it long so a restarted collector is not dialled by every
     * sensor at once; a small fleet may shorten it to be back sooner.
     */
    reconnectMaxS: z.coerce.number().min(1).max(3600).default(60),
    /** Bound of the on-disk heartbeat queue kept while the collector is unreachable. */
    queueMaxBytes: z.coerce
      .number()
      .int()
      .min(65_536)
      .default(64 * 1024 * 1024),
    /** Own capture: one ring writer per entry (empty: the agent only reads its stores). */
    capture: captureConfigSchema.default([]),
    /**
     * Mutual TLS (ADR 0018): CaptureService requires a client certificate signed by `ca`, and
     * the collector is dialled over TLS with `cert` presented. Plaintext when absent.
     */
    tls: tlsConfigSchema.optional(),
    logLevel: logLevel.default("info"),
  })
  .strict();

/** The agent's validated, frozen configuration. */
export type AgentConfig = Readonly<z.output<typeof agentConfigSchema>>;

/** Environment variables of the agent and the config keys they set (DESIGN.md). */
export const agentEnv: Readonly<Record<string, EnvBinding>> = {
  PCAPFLEET_SENSOR: { path: "sensor" },
  PCAPFLEET_LOCATION: { path: "location" },
  PCAPFLEET_STORE: { path: "stores", parse: parseList },
  PCAPFLEET_COLLECTOR: { path: "collector" },
  PCAPFLEET_AGENT_LISTEN: { path: "listen" },
  PCAPFLEET_HEARTBEAT_S: { path: "heartbeatS" },
  PCAPFLEET_STATE_DIR: { path: "stateDir" },
  PCAPFLEET_LOG_LEVEL: { path: "logLevel" },
  PCAPFLEET_ADVERTISE_ADDRESS: { path: "advertiseAddress" },
  ...tlsEnv,
};

/** Loads the agent's configuration from an optional YAML file and the environment (which wins). */
export function loadAgentConfig(sources: ConfigSources): AgentConfig {
  return loadConfig(agentConfigSchema, agentEnv, sources);
}
