/**
 * `pcapfleet-collector run`: the central service. Loads the configuration (YAML file +
 * environment), starts the collector and runs until SIGTERM or SIGINT, then stops cleanly.
 */
import type { CliCommand, CliIo, CliValues } from "@pcapfleet/core/cli";
import { stringFlag } from "@pcapfleet/core/cli";

const help = `Usage: pcapfleet-collector run [--config FILE]

Runs the collector: REST API, dashboard, realtime feed and /metrics over HTTP; SensorIngest (agents'
heartbeats) over gRPC; Postgres (DATABASE_URL) or embedded PGlite under the data dir; Redis
(REDIS_URL) or an in-process store. Stops on SIGTERM/SIGINT.

Options:
  --config FILE   YAML configuration (keys in docs/collector.example.yaml); the environment wins:
                  PCAPFLEET_HTTP_LISTEN, PCAPFLEET_GRPC_LISTEN, PCAPFLEET_DATA_DIR, DATABASE_URL,
                  REDIS_URL, PCAPFLEET_ADMIN_PASSWORD, PCAPFLEET_LOG_LEVEL, PCAPFLEET_TLS_CERT,
                  PCAPFLEET_TLS_KEY, PCAPFLEET_TLS_CA, PCAPFLEET_TLS_REQUIRE_CLIENT_CERT
`;

/** The `run` command. */
export const runCommand: CliCommand = {
  name: "run",
  summary: "run the collector (API, dashboard, heartbeat ingest)",
  help,
  options: { config: { type: "string" } },
  run: runCollector,
};

async function runCollector(values: CliValues, _positionals: string[], io: CliIo): Promise<number> {
  const [{ loadCollectorConfig }, { createLogger }, { createLogRing, teeToRing }, { startCollector }] =
    await Promise.all([
      import("../config.js"),
      import("@pcapfleet/core"),
      import("../logs/log-ring.js"),
      import("../main/start-collector.js"),
    ]);
  const config = loadCollectorConfig({ env: io.env, file: stringFlag(values, "config") });
  const logs = createLogRing();
  const log = createLogger({
    name: "pcapfleet-collector",
    level: config.logLevel,
    destination: teeToRing(logs),
  });
  const collector = await startCollector(config, log, logs);
  io.stdout.write(`Dashboard: ${collector.httpUrl}/\n`);
  io.stdout.write(`gRPC: ${collector.grpcAddress}\n`);
  if (collector.generatedAdminPassword !== undefined) {
    io.stdout.write(`Login: admin / ${collector.generatedAdminPassword}\n`);
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  log.info({ signal }, "stopping");
  await collector.stop();
  return 0;
}
