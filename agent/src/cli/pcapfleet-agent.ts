import { type CliProgram, runCli } from "@pcapfleet/core/cli";
import { indexCommand } from "./index-command.js";
import { runCommand } from "./run-command.js";
import { sliceCommand } from "./slice-command.js";

/** The `pcapfleet-agent` program: the sensor daemon and its offline tools. */
export const agentProgram: CliProgram = {
  name: "pcapfleet-agent",
  summary: "pcapfleet sensor agent: serves capture slices and heartbeats from a PCAP ring",
  commands: [sliceCommand, indexCommand, runCommand],
};

/** Entry point of the `pcapfleet-agent` bin; resolves to the exit code. */
export function main(argv: readonly string[]): Promise<number> {
  return runCli(agentProgram, argv, { stdout: process.stdout, stderr: process.stderr, env: process.env });
}
