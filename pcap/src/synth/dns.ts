/** DNS message builders (RFC 1035): a one-question query and its address answer. */
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { DnsType } from "../decode/protocols.js";
import { type IpInput, parseIp } from "./address.js";

/** Encodes a dotted name as DNS labels ending with the root label. */
export function encodeDnsName(name: string): Buffer {
  const trimmed = name.endsWith(".") ? name.slice(0, -1) : name;
  const labels = trimmed === "" ? [] : trimmed.split(".");
  const parts: number[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, "latin1");
    if (bytes.length === 0 || bytes.length > 63) {
      throw new AppError(ErrorCode.InvalidArgument, `bad DNS label in '${name}'`);
    }
    parts.push(bytes.length, ...bytes);
  }
  parts.push(0);
  if (parts.length > 255) throw new AppError(ErrorCode.InvalidArgument, `DNS name too long: '${name}'`);
  return Buffer.from(parts);
}

/** Fields of a one-question DNS query. */
export interface DnsQueryOptions {
  id: number;
  name: string;
  /** RR type (default A); see {@link DnsType}. */
  type?: number;
  /** Recursion desired (default true). */
  recursionDesired?: boolean;
}

/** Builds a standard query with one question of class IN. */
export function buildDnsQuery(o: DnsQueryOptions): Buffer {
  const name = encodeDnsName(o.name);
  const out = Buffer.alloc(12 + name.length + 4);
  out.writeUInt16BE(o.id & 0xffff, 0);
  out.writeUInt16BE(o.recursionDesired === false ? 0 : 0x0100, 2);
  out.writeUInt16BE(1, 4);
  name.copy(out, 12);
  out.writeUInt16BE(o.type ?? DnsType.A, 12 + name.length);
  out.writeUInt16BE(1, 14 + name.length);
  return out;
}

/** Fields of a response to a one-question query. */
export interface DnsResponseOptions extends DnsQueryOptions {
  /** A/AAAA answers; each must match `type` (4 bytes for A, 16 for AAAA). */
  answers: readonly IpInput[];
  /** Default 300 s. */
  ttl?: number;
  /** Response code (default 0, NOERROR; 3 is NXDOMAIN). */
  rcode?: number;
}

/** Builds the recursive resolver's answer: the question repeated, answers pointing at it (0xc00c). */
export function buildDnsResponse(o: DnsResponseOptions): Buffer {
  const question = buildDnsQuery(o);
  const type = o.type ?? DnsType.A;
  const rdatas = o.answers.map(parseIp);
  const size = question.length + rdatas.reduce((n, r) => n + 12 + r.length, 0);
  const out = Buffer.alloc(size);
  question.copy(out, 0);
  out.writeUInt16BE(0x8180 | ((o.rcode ?? 0) & 0xf), 2);
  out.writeUInt16BE(rdatas.length, 6);
  let p = question.length;
  for (const r of rdatas) {
    out.writeUInt16BE(0xc00c, p);
    out.writeUInt16BE(type, p + 2);
    out.writeUInt16BE(1, p + 4);
    out.writeUInt32BE(o.ttl ?? 300, p + 6);
    out.writeUInt16BE(r.length, p + 10);
    r.copy(out, p + 12);
    p += 12 + r.length;
  }
  return out;
}
