/**
 * Flag parsing shared by the `pcapfleet` commands: repeated values, bounded integers, times,
 * the one job id positional, and printing an answer as JSON or text.
 */
import { AppError, ErrorCode } from "@pcapfleet/core";
import { type CliIo, type CliValues, stringFlag } from "@pcapfleet/core/cli";

/** A bad-input error (exit 2). */
export function invalid(message: string): AppError {
  return new AppError(ErrorCode.InvalidArgument, message);
}

/** Every value of a repeatable flag, in order. */
export function listFlag(values: CliValues, name: string): string[] {
  const raw = values[name];
  const all = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return all.filter((value): value is string => typeof value === "string");
}

/** An integer flag in `[min, max]`, or undefined when absent. */
export function intFlag(values: CliValues, name: string, min: number, max: number): number | undefined {
  const text = stringFlag(values, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(`--${name} must be an integer from ${min} to ${max}, not '${text}'`);
  }
  return value;
}

/** A time flag (RFC 3339 or epoch seconds with up to 9 fraction digits) as Timestamp fields. */
export async function timeFlag(
  values: CliValues,
  name: string,
): Promise<{ seconds: bigint; nanos: number } | undefined> {
  const text = stringFlag(values, name);
  if (text === undefined) return undefined;
  // The same parser as `pcapfleet-agent slice --from`, loaded only by the commands that take times.
  const { parseInstant } = await import("@pcapfleet/pcap/query");
  const instant = parseInstant(text, `--${name}`);
  return { seconds: BigInt(instant.sec), nanos: instant.nsec };
}

/** The one job id a command takes. */
export function jobIdArgument(positionals: readonly string[], usage: string): string {
  const [id, ...extra] = positionals;
  if (id === undefined || id === "") throw invalid(`a job id is required: ${usage}`);
  if (extra.length > 0) throw invalid(`unexpected argument '${extra[0]}': ${usage}`);
  return id;
}

/** Whether `--json` was given. */
export const wantsJson = (values: CliValues): boolean => values["json"] === true;

/** Prints `value` as indented JSON, or `text()` for people. */
export function print(io: CliIo, values: CliValues, value: unknown, text: () => string): void {
  io.stdout.write(wantsJson(values) ? `${JSON.stringify(value, null, 2)}\n` : text());
}
