/**
 * `pcapfleet-agent run`: the sensor daemon. Loads the configuration (YAML file + environment),
 * starts the agent and runs until SIGTERM or SIGINT, then stops cleanly: a last heartbeat, the
 * queue flushed, running slices given a few seconds, capture files closed.
 */
import type { CliCommand, CliIo, CliValues } from "@pcapfleet/core/cli";
import { stringFlag } from "@pcapfleet/core/cli";

const help = `Usage: pcapfleet-agent run [--config FILE]

Runs the sensor agent: watches and indexes the ring directories, optionally captures into its own
ring, serves CaptureService (gRPC) and streams heartbeats to the collector. Stops on SIGTERM/SIGINT.

Options:
  --config FILE   YAML configuration (keys in docs/agent.example.yaml); the environment wins:
                  PCAPFLEET_SENSOR, PCAPFLEET_LOCATION, PCAPFLEET_STORE, PCAPFLEET_COLLECTOR,
                  PCAPFLEET_AGENT_LISTEN, PCAPFLEET_HEARTBEAT_S, PCAPFLEET_STATE_DIR,
                  PCAPFLEET_ADVERTISE_ADDRESS, PCAPFLEET_LOG_LEVEL
`;

/** The `run` command. */
export const runCommand: CliCommand = {
  name: "run",
  summary: "run the sensor daemon (heartbeats, capture service, indexing, own capture)",
  help,
  options: { config: { type: "string" } },
  run: runAgent,
};

async function runAgent(values: CliValues, _positionals: string[], io: CliIo): Promise<number> {
  const [{ loadAgentConfig }, { createLogger }, { startAgent }] = await Promise.all([
    import("../config.js"),
    import("@pcapfleet/core"),
    import("../daemon/start-agent.js"),
  ]);
  const config = loadAgentConfig({ env: io.env, file: stringFlag(values, "config") });
  const log = createLogger({ name: "pcapfleet-agent", level: config.logLevel });
  const agent = await startAgent(config, log);
  io.stdout.write(`pcapfleet-agent: sensor ${config.sensor} serving on ${agent.address}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  log.info({ signal }, "stopping");
  await agent.stop();
  log.info("stopped");
  return 0;
}
