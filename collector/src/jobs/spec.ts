/**
 * The job body (`POST /jobs`, DESIGN.md) and the one tcpdump expression it becomes. Conversation
 * fields are matched in both directions, as analysts expect: `src_ip A, dst_port 443` finds A's
 * packets to port 443 and the answers from port 443 to A. The user's `filter` is ANDed, and
 * the whole expression is compiled by libpcap at submit time, so a bad filter is a 400 with
 * libpcap's message rather than a job whose every task fails.
 */
import { isIP } from "node:net";
import { z } from "@hono/zod-openapi";
import { AppError, ErrorCode } from "@pcapfleet/core";
import { compileFilter } from "@pcapfleet/pcap";
import { locationNameSchema, sensorNamePattern } from "../routes/sensor-schemas.js";
import type { JobSpec } from "./types.js";

const iso = z.iso.datetime({ offset: true });

/** An address or a CIDR prefix (`10.1.2.3`, `2001:db8::1`, `10.1.0.0/16`). */
const addressSchema = z
  .string()
  .max(64)
  .refine(isAddressOrPrefix, "must be an IPv4 or IPv6 address or CIDR prefix")
  .openapi({ example: "10.1.2.3" });

const portSchema = z.number().int().min(1).max(65535);

/** Protocol names the conversation field takes, beside an IP protocol number. */
const protocolNames = ["tcp", "udp", "icmp", "icmp6", "sctp"] as const;

/** The body of `POST /jobs` and `POST /jobs/estimate`. */
export const jobSpecSchema = z
  .strictObject({
    start_time: iso.openapi({ description: "Window start (RFC 3339), inclusive" }),
    end_time: iso.openapi({ description: "Window end (RFC 3339), exclusive" }),
    src_ip: addressSchema.optional(),
    dst_ip: addressSchema.optional(),
    src_port: portSchema.optional(),
    dst_port: portSchema.optional(),
    protocol: z
      .string()
      .regex(/^(tcp|udp|icmp|icmp6|sctp|[0-9]{1,3})$/i, `one of ${protocolNames.join(", ")} or 0-255`)
      .refine((p) => !/^[0-9]+$/.test(p) || Number(p) <= 255, "an IP protocol number is 0-255")
      .optional(),
    filter: z.string().max(4096).optional().openapi({ description: "tcpdump expression, ANDed" }),
    sensors: z.array(z.string().regex(sensorNamePattern, "not a sensor name")).max(10_000).optional(),
    locations: z.array(locationNameSchema).max(1_000).optional(),
    description: z.string().max(1_000).optional(),
    max_bytes: z
      .number()
      .int()
      .min(24)
      .max(2 ** 50)
      .optional()
      .openapi({ description: "Cap on the merged result; default from the collector's config" }),
    scheduled_at: iso.optional().openapi({ description: "Run no earlier than this" }),
  })
  .refine((spec) => Date.parse(spec.end_time) > Date.parse(spec.start_time), {
    message: "end_time must be after start_time",
    path: ["end_time"],
  })
  .openapi("JobSpec");

/** The body as validated. */
export type JobSpecInput = z.output<typeof jobSpecSchema>;

function isAddressOrPrefix(text: string): boolean {
  const slash = text.indexOf("/");
  if (slash < 0) return isIP(text) !== 0;
  const family = isIP(text.slice(0, slash));
  const bits = text.slice(slash + 1);
  if (family === 0 || !/^[0-9]{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** `host A` or `net A/n` with a direction. */
function addressTerm(direction: "src" | "dst", address: string): string {
  return address.includes("/") ? `${direction} net ${address}` : `${direction} host ${address}`;
}

/** The conversation clause: one side's terms, or the other way round. */
function conversation(spec: JobSpec): string | undefined {
  const side = (a: "src" | "dst", b: "src" | "dst"): string[] => {
    const terms: string[] = [];
    if (spec.src_ip !== undefined) terms.push(addressTerm(a, spec.src_ip));
    if (spec.src_port !== undefined) terms.push(`${a} port ${spec.src_port}`);
    if (spec.dst_ip !== undefined) terms.push(addressTerm(b, spec.dst_ip));
    if (spec.dst_port !== undefined) terms.push(`${b} port ${spec.dst_port}`);
    return terms;
  };
  const forward = side("src", "dst");
  if (forward.length === 0) return undefined;
  const backward = side("dst", "src");
  return `(${forward.join(" and ")}) or (${backward.join(" and ")})`;
}

function protocolTerm(protocol: string): string {
  const p = protocol.toLowerCase();
  if (/^[0-9]+$/.test(p)) return `ip proto ${Number(p)} or ip6 proto ${Number(p)}`;
  return p;
}

/**
 * The tcpdump expression of a job: conversation fields (both directions), protocol and the
 * user's filter, each parenthesised and ANDed; empty when the job asks for every packet.
 */
export function effectiveFilter(spec: JobSpec): string {
  const parts: string[] = [];
  const conv = conversation(spec);
  if (conv !== undefined) parts.push(conv);
  if (spec.protocol !== undefined) parts.push(protocolTerm(spec.protocol));
  if (spec.filter !== undefined && spec.filter.trim() !== "") parts.push(spec.filter.trim());
  if (parts.length === 1) return parts[0] as string;
  return parts.map((part) => `(${part})`).join(" and ");
}

/**
 * Compiles `expression` with libpcap for Ethernet, the link type of nearly every sensor; a
 * rejection is `invalid_argument` carrying libpcap's message. Without tcpdump on the collector
 * the check is left to the agents (their tasks fail with `filter_invalid`), and `false` is
 * returned so the caller can say so.
 */
export async function checkFilter(expression: string): Promise<boolean> {
  if (expression === "") return true;
  try {
    await compileFilter(expression, 1);
    return true;
  } catch (error) {
    if (error instanceof AppError && error.code === ErrorCode.Unavailable) return false;
    throw error;
  }
}
