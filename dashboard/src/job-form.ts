/**
 * The New job form's values and the `POST /jobs` body they make. Only what the form itself can
 * know is checked here (a window, numbers in range); addresses, sensor names and the tcpdump
 * filter are checked by the collector, whose 400 message the form shows as it is (for a bad
 * filter, libpcap's own words).
 */
import type { JobSpec } from "./job-types.js";
import { fromZonedInput } from "./zoned-time.js";

/** The form's fields as typed (strings, as inputs give them). */
export interface JobFormValues {
  /** `datetime-local` values on the user's wall clock. */
  readonly from: string;
  readonly to: string;
  readonly srcIp: string;
  readonly dstIp: string;
  readonly srcPort: string;
  readonly dstPort: string;
  readonly protocol: string;
  readonly filter: string;
  readonly sensors: readonly string[];
  readonly locations: readonly string[];
  readonly description: string;
  /** Cap on the result in {@link maxUnit}s; empty for the collector's default. */
  readonly maxSize: string;
  readonly maxUnit: "MiB" | "GiB";
}

/** A value the form refused, naming the field (its input's `name`). */
export class JobFormError extends Error {
  /** Name of the offending input. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.name = "JobFormError";
    this.field = field;
  }
}

const UNIT_BYTES = { MiB: 1024 ** 2, GiB: 1024 ** 3 } as const;

function port(field: string, label: string, text: string): number | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  const n = Number(t);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) {
    throw new JobFormError(field, `${label} must be a whole number from 1 to 65535.`);
  }
  return n;
}

function instant(field: string, label: string, text: string, timeZone: string): string {
  if (text.trim() === "") throw new JobFormError(field, `${label} is required.`);
  const ms = fromZonedInput(text, timeZone);
  if (Number.isNaN(ms)) throw new JobFormError(field, `${label} is not a date and time.`);
  return new Date(ms).toISOString();
}

/**
 * The job body of the form's values, times read on `timeZone`'s wall clock; throws
 * {@link JobFormError} for a value the collector would refuse anyway.
 */
export function buildJobSpec(values: JobFormValues, timeZone: string): JobSpec {
  const start = instant("from", "From", values.from, timeZone);
  const end = instant("to", "To", values.to, timeZone);
  if (Date.parse(end) <= Date.parse(start)) throw new JobFormError("to", "To must be after From.");
  const srcPort = port("srcPort", "Source port", values.srcPort);
  const dstPort = port("dstPort", "Destination port", values.dstPort);
  let maxBytes: number | undefined;
  if (values.maxSize.trim() !== "") {
    const size = Number(values.maxSize);
    if (!Number.isFinite(size) || size <= 0) {
      throw new JobFormError("maxSize", "Max size must be a positive number.");
    }
    maxBytes = Math.round(size * UNIT_BYTES[values.maxUnit]);
  }
  const text = (value: string): string | undefined => (value.trim() === "" ? undefined : value.trim());
  const optional = {
    src_ip: text(values.srcIp),
    dst_ip: text(values.dstIp),
    src_port: srcPort,
    dst_port: dstPort,
    protocol: text(values.protocol)?.toLowerCase(),
    filter: text(values.filter),
    sensors: values.sensors.length > 0 ? [...values.sensors] : undefined,
    locations: values.locations.length > 0 ? [...values.locations] : undefined,
    description: text(values.description),
    max_bytes: maxBytes,
  };
  // exactOptionalPropertyTypes: absent fields are left out, not sent as undefined (or null).
  const spec: Record<string, unknown> = { start_time: start, end_time: end };
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) spec[key] = value;
  return spec as unknown as JobSpec;
}

/** Body fields of the job API and the form inputs they come from. */
const INPUT_OF_FIELD: Readonly<Record<string, string>> = {
  start_time: "from",
  end_time: "to",
  src_ip: "srcIp",
  dst_ip: "dstIp",
  src_port: "srcPort",
  dst_port: "dstPort",
  protocol: "protocol",
  filter: "filter",
  description: "description",
  max_bytes: "maxSize",
};

/**
 * The form input a collector refusal is about, so it can be marked: a bad filter (libpcap's
 * `bad filter …`), or a body field the message starts with (`src_ip: must be …`); null when
 * the message names none (an unknown sensor, no sensor registered).
 */
export function inputOfApiMessage(message: string): string | null {
  if (/^bad filter\b/i.test(message)) return "filter";
  const field = /^(?:json\.)?([a-z_]+)(?:\.\d+)?:/.exec(message)?.[1];
  return field === undefined ? null : (INPUT_OF_FIELD[field] ?? null);
}
