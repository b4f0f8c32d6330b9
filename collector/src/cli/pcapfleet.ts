import { type CliProgram, runCli } from "@pcapfleet/core/cli";

/** The `pcapfleet` automation CLI, which talks to a collector. */
export const automationProgram: CliProgram = {
  name: "pcapfleet",
  summary: "pcapfleet automation CLI: submit and download PCAP jobs, list sensors",
  commands: [],
};

/** Entry point of the `pcapfleet` bin; resolves to the exit code. */
export function main(argv: readonly string[]): Promise<number> {
  return runCli(automationProgram, argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
}
