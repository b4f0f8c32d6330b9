/**
 * Address formatting for decoded packets. The decoder keeps addresses as numbers and
 * offsets; strings are made only here, when a caller needs to show or key by them.
 */
import type { DecodedPacket } from "./decoded-packet.js";

/** Dotted-quad text of an IPv4 address held as an unsigned 32-bit integer. */
export function formatIpv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/**
 * RFC 5952 text of the IPv6 address at `buf[offset, offset + 16)`: lowercase, no leading
 * zeros, the longest run (two or more) of zero groups as "::", IPv4-mapped as ::ffff:a.b.c.d.
 */
export function formatIpv6(buf: Uint8Array, offset: number): string {
  const g = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = ((buf[offset + 2 * i] ?? 0) << 8) | (buf[offset + 2 * i + 1] ?? 0);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    const v4 = (((g[6] as number) << 16) | (g[7] as number)) >>> 0;
    return `::ffff:${formatIpv4(v4)}`;
  }
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    g
      .slice(from, to)
      .map((w) => w.toString(16))
      .join(":");
  if (bestAt < 0) return hex(0, 8);
  return `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}

/** Source or destination address of a decoded packet as text (IPv4, IPv6, or ARP's IPv4); null when none. */
export function formatIp(d: DecodedPacket, which: "src" | "dst"): string | null {
  const offset = which === "src" ? d.srcOffset : d.dstOffset;
  if (offset < 0) return null;
  if (d.l3 === "ipv6") return formatIpv6(d.buf, offset);
  return formatIpv4(which === "src" ? d.src4 : d.dst4);
}

/** Colon-separated MAC text of the 6 bytes at `buf[offset]`. */
export function formatMac(buf: Uint8Array, offset: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push((buf[offset + i] ?? 0).toString(16).padStart(2, "0"));
  return parts.join(":");
}
