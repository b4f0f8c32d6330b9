/**
 * `pcapfleet sensors ls [--location L]`: the collector's sensors with their state, last
 * heartbeat and the packet time their rings hold, read page by page over ListSensors.
 */
import type { CliCommand, CliProgram } from "@pcapfleet/core/cli";
import { stringFlag } from "@pcapfleet/core/cli";
import type { Sensor } from "@pcapfleet/proto";
import { print } from "./flags.js";
import { sensorJson, sensorsTable } from "./output.js";
import { globalHelp, globalOptions, openSession } from "./session.js";

const lsCommand: CliCommand = {
  name: "ls",
  summary: "list sensors: state, last heartbeat, packets held",
  help: `Usage: pcapfleet sensors ls [--location L]

Options:
  --location L   only sensors of this location
${globalHelp}`,
  options: { ...globalOptions, location: { type: "string" } },
  async run(values, _positionals, io) {
    const location = stringFlag(values, "location") ?? "";
    const session = await openSession(values, io);
    const sensors: Sensor[] = [];
    try {
      let after = "";
      do {
        const page = await session.authed((o) =>
          session.jobs.listSensors({ location, after, limit: 500 }, o),
        );
        sensors.push(...page.sensors);
        after = page.nextAfter;
      } while (after !== "");
    } finally {
      session.close();
    }
    const rows = sensors.map(sensorJson);
    print(io, values, { sensors: rows }, () => sensorsTable(rows));
    return 0;
  },
};

/** `pcapfleet sensors ...`. */
export const sensorsProgram: CliProgram = {
  name: "pcapfleet sensors",
  summary: "sensors known to a collector",
  commands: [lsCommand],
};
