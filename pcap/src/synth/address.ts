/**
 * Parsing of the textual addresses builders accept. Builders take either text
 * ("10.0.0.1", "fd00::1", "02:00:00:00:00:01") or the raw bytes, so tests read naturally
 * and the generator can pass precomputed bytes without reparsing.
 */
import { AppError, ErrorCode } from "@pcapfleet/core/errors";

/** An IP address as text or as its 4 (IPv4) or 16 (IPv6) network-order bytes. */
export type IpInput = string | Uint8Array;

/** A MAC address as "aa:bb:cc:dd:ee:ff" text or as its 6 bytes. */
export type MacInput = string | Uint8Array;

function bad(what: string, text: string): AppError {
  return new AppError(ErrorCode.InvalidArgument, `not a valid ${what}: '${text}'`);
}

/** Parses dotted-quad IPv4 text into 4 bytes. */
export function parseIpv4(text: string): Buffer {
  const parts = text.split(".");
  if (parts.length !== 4) throw bad("IPv4 address", text);
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] as string;
    if (!/^\d{1,3}$/.test(part)) throw bad("IPv4 address", text);
    const n = Number(part);
    if (n > 255) throw bad("IPv4 address", text);
    out[i] = n;
  }
  return out;
}

/** Parses IPv6 text (RFC 4291 2.2: `::` compression and a trailing dotted quad allowed) into 16 bytes. */
export function parseIpv6(text: string): Buffer {
  const halves = text.split("::");
  if (halves.length > 2) throw bad("IPv6 address", text);
  const words = (half: string | undefined): number[] => {
    if (half === undefined || half === "") return [];
    const out: number[] = [];
    const groups = half.split(":");
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] as string;
      if (i === groups.length - 1 && g.includes(".")) {
        const v4 = parseIpv4(g);
        out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad("IPv6 address", text);
        out.push(Number.parseInt(g, 16));
      }
    }
    return out;
  };
  const head = words(halves[0]);
  const tail = words(halves[1]);
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) throw bad("IPv6 address", text);
  const all = [...head, ...new Array<number>(halves.length === 1 ? 0 : fill).fill(0), ...tail];
  const out = Buffer.alloc(16);
  all.forEach((w, i) => {
    out.writeUInt16BE(w, i * 2);
  });
  return out;
}

/** Parses IPv4 or IPv6 text, or checks raw bytes are 4 or 16 long. */
export function parseIp(ip: IpInput): Buffer {
  if (typeof ip !== "string") {
    if (ip.length !== 4 && ip.length !== 16) throw bad("IP address", `${ip.length} bytes`);
    return Buffer.from(ip.buffer, ip.byteOffset, ip.length);
  }
  return ip.includes(":") ? parseIpv6(ip) : parseIpv4(ip);
}

/** Parses "aa:bb:cc:dd:ee:ff" (or '-' separated) into 6 bytes, or checks raw bytes are 6 long. */
export function parseMac(mac: MacInput): Buffer {
  if (typeof mac !== "string") {
    if (mac.length !== 6) throw bad("MAC address", `${mac.length} bytes`);
    return Buffer.from(mac.buffer, mac.byteOffset, mac.length);
  }
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) throw bad("MAC address", mac);
  return Buffer.from(parts.map((p) => Number.parseInt(p, 16)));
}
