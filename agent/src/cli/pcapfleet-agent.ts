import { writeSync } from "node:fs";
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
  return runCli(agentProgram, argv, {
    stdout: fdWriter(1, () => process.stdout),
    stderr: fdWriter(2, () => process.stderr),
    env: process.env,
  });
}

/**
 * Writes a CLI's messages straight to descriptor `fd`. `process.stdout`/`stderr` are made on
 * first use, and for a pipe that loads Node's socket stack, a few ms of a short command's
 * start-up (ADR 0012); Node writes them synchronously to files and pipes anyway. A
 * non-blocking descriptor that is full (EAGAIN) hands the rest to `stream()`, which queues it;
 * a reader gone away (EPIPE) loses the message, as it would have.
 */
export function fdWriter(fd: number, stream: () => { write(text: string | Buffer): unknown }) {
  let queued = false;
  return {
    write(text: string): boolean {
      if (queued) return stream().write(text) !== false;
      const bytes = Buffer.from(text, "utf8");
      let done = 0;
      try {
        while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
      } catch (error) {
        if ((error as { code?: unknown }).code !== "EAGAIN") return false;
        queued = true;
        stream().write(bytes.subarray(done));
      }
      return true;
    },
  };
}
