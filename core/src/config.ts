import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { AppError, ErrorCode } from "./errors.js";

/** Where one environment variable lands in the config object, and how its text is read. */
export interface EnvBinding {
  /** Dotted path in the config object, e.g. `http.listen`. */
  readonly path: string;
  /** Turns the variable's text into the value the schema expects; the text itself when absent. */
  readonly parse?: (text: string) => unknown;
}

/** Inputs of {@link loadConfig}. */
export interface ConfigSources {
  /** The process environment (or a test's). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Path of a YAML config file, if one was named. */
  readonly file?: string | undefined;
}

/** A config problem: always names the key and where the bad value came from. */
export class ConfigError extends AppError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(ErrorCode.InvalidArgument, message, options);
  }
}

/** Splits `a,b , c` into `["a","b","c"]`, dropping empties; for list-valued variables. */
export function parseList(text: string): string[] {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

/** A `host:port` listen or dial address (`[::1]:50051` for IPv6). */
export const hostPort = z.string().transform((text, ctx) => {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port > 65535) {
    ctx.addIssue({ code: "custom", message: `expected host:port, got '${text}'` });
    return z.NEVER;
  }
  return { host: match[1] ?? match[2] ?? "", port, text } as const;
});

/** A parsed {@link hostPort}. */
export type HostPort = z.output<typeof hostPort>;

/**
 * Loads a program's configuration: the YAML file (if named), overlaid by the environment
 * (environment wins), validated by `schema`. The result is deeply frozen. Any problem throws a
 * {@link ConfigError} whose one-line message names the bad key and its source.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  bindings: Readonly<Record<string, EnvBinding>>,
  sources: ConfigSources,
): Readonly<z.output<S>> {
  const raw: Record<string, unknown> = sources.file === undefined ? {} : readConfigFile(sources.file);
  const origin = new Map<string, string>();
  for (const [variable, binding] of Object.entries(bindings)) {
    const text = sources.env[variable];
    if (text === undefined || text === "") continue;
    setPath(raw, binding.path, binding.parse === undefined ? text : binding.parse(text));
    origin.set(binding.path, variable);
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue === undefined || issue.path.length === 0 ? "(root)" : issue.path.join(".");
    const from = origin.get(key) ?? (sources.file === undefined ? "defaults" : sources.file);
    throw new ConfigError(`config: ${key}: ${issue?.message ?? "invalid"} (from ${from})`);
  }
  return deepFreeze(result.data as z.output<S>);
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new ConfigError(`config: cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, {
      cause,
    });
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message.split("\n")[0] : String(cause);
    throw new ConfigError(`config: ${file} is not valid YAML: ${reason}`, { cause });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(`config: ${file} must hold a mapping of keys to values`);
  }
  return parsed as Record<string, unknown>;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
