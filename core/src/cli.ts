import { type ParseArgsConfig, parseArgs } from "node:util";
import { AppError, ErrorCode } from "./errors.js";
import { pcapfleetVersion } from "./version.js";

/** Where a command writes; tests pass collectors, programs pass the process streams. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Parsed flags of a command, as `node:util` parseArgs returns them. */
export type CliValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** One subcommand of a program. */
export interface CliCommand {
  /** The word after the program name. */
  readonly name: string;
  /** One line for the program's help. */
  readonly summary: string;
  /** Full help text of the command: usage line, then options. */
  readonly help: string;
  /** Flags, in `node:util` parseArgs form. */
  readonly options: NonNullable<ParseArgsConfig["options"]>;
  /** Whether bare words after the command are accepted. */
  readonly positionals?: boolean;
  /** Does the work; resolves to the exit code (0 when void). Throw an AppError for a clear failure. */
  run(values: CliValues, positionals: string[], io: CliIo): Promise<number | undefined>;
}

/** A program: its name, what it is, and its subcommands. */
export interface CliProgram {
  readonly name: string;
  readonly summary: string;
  readonly commands: readonly CliCommand[];
}

/** The program's top-level help text. */
export function programHelp(program: CliProgram): string {
  const width = Math.max(8, ...program.commands.map((command) => command.name.length));
  const lines = [
    `${program.name} ${pcapfleetVersion()} - ${program.summary}`,
    "",
    `Usage: ${program.name} <command> [options]`,
    `       ${program.name} <command> --help`,
    "",
    "Commands:",
    ...program.commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    "",
    "Options:",
    "  --help     show this help",
    "  --version  print the version",
    "",
  ];
  return lines.join("\n");
}

/**
 * Runs one invocation of a program and resolves to its exit code: 0 on success, 2 on a usage
 * error, or the {@link AppError} code's exit code. Failures print one line on stderr.
 */
export async function runCli(program: CliProgram, argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    io.stdout.write(programHelp(program));
    return first === undefined ? 2 : 0;
  }
  if (first === "--version" || first === "-V") {
    io.stdout.write(`${pcapfleetVersion()}\n`);
    return 0;
  }
  const command = program.commands.find((candidate) => candidate.name === first);
  if (command === undefined) {
    io.stderr.write(`${program.name}: unknown command '${first}' (see ${program.name} --help)\n`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout.write(`${command.help.trimEnd()}\n`);
    return 0;
  }
  let parsed: { values: CliValues; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...rest],
      options: command.options,
      allowPositionals: command.positionals ?? false,
      strict: true,
    }) as { values: CliValues; positionals: string[] };
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message.split("\n")[0] : String(cause);
    io.stderr.write(`${program.name} ${command.name}: ${reason}\n`);
    return 2;
  }
  try {
    return (await command.run(parsed.values, parsed.positionals, io)) ?? 0;
  } catch (cause) {
    const error = AppError.from(cause);
    const message = error.code === ErrorCode.Internal ? `internal error: ${error.message}` : error.message;
    io.stderr.write(`${program.name} ${command.name}: ${message}\n`);
    if (error.code === ErrorCode.Internal && error.cause instanceof Error && error.cause.stack) {
      io.stderr.write(`${error.cause.stack}\n`);
    }
    return error.exitCode;
  }
}

/** Reads a flag that must be a single string, or undefined. */
export function stringFlag(values: CliValues, name: string): string | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string") {
    throw new AppError(ErrorCode.InvalidArgument, `--${name} takes a value`);
  }
  return value;
}
