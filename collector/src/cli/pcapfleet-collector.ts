import { type CliProgram, runCli } from "@pcapfleet/core/cli";
import { runCommand } from "./run-command.js";

/** The `pcapfleet-collector` program: the central service. */
export const collectorProgram: CliProgram = {
  name: "pcapfleet-collector",
  summary: "pcapfleet collector: sensor registry, PCAP jobs, API and dashboard",
  commands: [runCommand],
};

/** Entry point of the `pcapfleet-collector` bin; resolves to the exit code. */
export function main(argv: readonly string[]): Promise<number> {
  return runCli(collectorProgram, argv, { stdout: process.stdout, stderr: process.stderr, env: process.env });
}
