/**
 * Addresses and prefixes as the network API accepts them, checked before any SQL runs so a bad
 * one is a 400 naming the problem (Postgres would say only "invalid cidr value"). Canonical
 * text (lower-case, IPv6 compressed) makes cache keys and messages stable.
 */
import { isIP } from "node:net";
import { AppError, ErrorCode } from "@pcapfleet/core";

/** An address or a network, canonical. */
export interface Prefix {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** Canonical address part: `10.1.2.0`, `2001:db8::`. */
  readonly address: string;
  /** Prefix length; 32 or 128 for a plain address. */
  readonly bits: number;
  /** `address/bits`, as Postgres prints a cidr. */
  readonly text: string;
}

/** The WHATWG URL parser compresses and lower-cases IPv6 (RFC 5952), which Postgres also prints. */
function canonicalAddress(address: string, family: 4 | 6): string {
  if (family === 4) return address;
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/** The address as one bigint (32 or 128 bits). */
function toBigInt(address: string, family: 4 | 6): bigint {
  if (family === 4) {
    return address.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  }
  // Canonical IPv6 may end in an embedded IPv4 (`::ffff:1.2.3.4`): turn it into two groups.
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1] !== undefined) {
    const n = toBigInt(v4[1], 4);
    text = `${text.slice(0, -v4[1].length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

/** Parses an address (`10.1.2.3`, `2001:db8::1`) or a prefix (`10.1.0.0/16`). */
function parse(text: string, what: string): Prefix & { readonly hostBitsSet: boolean } {
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const kind = isIP(addressText);
  if (kind === 0) {
    throw new AppError(
      ErrorCode.InvalidArgument,
      `${what}: ${JSON.stringify(text)} is not an IPv4 or IPv6 address`,
    );
  }
  const family = kind as 4 | 6;
  const max = family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const lengthText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > max) {
      throw new AppError(
        ErrorCode.InvalidArgument,
        `${what}: ${JSON.stringify(text)} has a bad prefix length (IPv${family}: 0-${max})`,
      );
    }
    bits = Number(lengthText);
  }
  const address = canonicalAddress(addressText, family);
  const hostMask = (1n << BigInt(max - bits)) - 1n;
  const hostBitsSet = (toBigInt(address, family) & hostMask) !== 0n;
  return { family, address, bits, text: `${address}/${bits}`, hostBitsSet };
}

/**
 * A network prefix (`10.1.0.0/16`; a plain address is its /32 or /128).
 *
 * @throws AppError `invalid_argument` for bad syntax or host bits set right of the mask.
 */
export function parsePrefix(text: string, what = "prefix"): Prefix {
  const { hostBitsSet, ...prefix } = parse(text, what);
  if (hostBitsSet) {
    throw new AppError(
      ErrorCode.InvalidArgument,
      `${what}: ${JSON.stringify(text)} has bits set right of the /${prefix.bits} mask`,
    );
  }
  return prefix;
}
