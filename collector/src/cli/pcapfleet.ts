/**
 * The `pcapfleet` automation CLI (DESIGN.md "Contracts"): talks to a collector over gRPC only
 * (JobService, AuthService). Commands come in groups, `pcapfleet jobs submit`, `pcapfleet sensors
 * ls`; each group is a program of its own for `runCli`, so help, flag errors and exit codes work
 * as in the other pcapfleet CLIs.
 */
import { type CliCommand, type CliIo, type CliProgram, programHelp, runCli } from "@pcapfleet/core/cli";
import { jobsProgram } from "./jobs-commands.js";
import { loginCommand, logoutCommand } from "./login-command.js";
import { sensorsProgram } from "./sensors-command.js";

const groups = [jobsProgram, sensorsProgram];

/** A group as one line of the top-level help; running it runs the group's program. */
function groupCommand(program: CliProgram): CliCommand {
  const name = program.name.replace(/^pcapfleet /, "");
  return {
    name,
    summary: `${program.summary} (${program.commands.map((c) => c.name).join(", ")})`,
    help: programHelp(program),
    options: {},
    positionals: true,
    run: (_values, positionals, io) => runCli(program, positionals, io),
  };
}

/** The `pcapfleet` automation CLI, which talks to a collector. */
export const automationProgram: CliProgram = {
  name: "pcapfleet",
  summary: "pcapfleet automation CLI: submit and download PCAP jobs, list sensors",
  commands: [loginCommand, logoutCommand, ...groups.map(groupCommand)],
};

/** Global flags, which may also come before the command words (`pcapfleet --json jobs ls`). */
const globalValued = new Set(["--collector", "--token", "--ca"]);

/** Moves global flags given before the first command word to the end, where the command parses them. */
export function hoistGlobals(argv: readonly string[]): string[] {
  const moved: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const flag = arg.split("=", 1)[0] ?? "";
    if (arg === "--json") moved.push(arg);
    else if (globalValued.has(flag) && arg.includes("=")) moved.push(arg);
    else if (globalValued.has(arg) && i + 1 < argv.length) moved.push(arg, argv[++i] ?? "");
    else break;
  }
  const rest = argv.slice(i);
  return rest.length === 0 ? [...moved] : [...rest, ...moved];
}

/** Runs one invocation: a group's command (`jobs ls`) or a top-level one (`login`). */
export function run(argv: readonly string[], io: CliIo): Promise<number> {
  const args = hoistGlobals(argv);
  const group = groups.find((program) => program.name === `pcapfleet ${args[0]}`);
  return group === undefined ? runCli(automationProgram, args, io) : runCli(group, args.slice(1), io);
}

/** Entry point of the `pcapfleet` bin; resolves to the exit code. */
export function main(argv: readonly string[]): Promise<number> {
  return run(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env });
}
