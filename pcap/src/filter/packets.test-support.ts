/**
 * Test support: hand-assembled packets and classic pcap files, so the filter tests need
 * neither the synth package nor the readers. Checksums are left zero: filters never read them.
 */

/** A frame to write: its bytes (already cut to the caplen) and the length on the wire. */
export interface Frame {
  readonly data: Uint8Array;
  readonly origLen: number;
}

const u16 = (v: number): number[] => [(v >>> 8) & 0xff, v & 0xff];
const u32 = (v: number): number[] => [...u16(v >>> 16), ...u16(v & 0xffff)];

/** Concatenates byte sources. */
export function bytes(...parts: ReadonlyArray<ArrayLike<number>>): Uint8Array {
  const out: number[] = [];
  for (const part of parts) out.push(...Array.from(part));
  return Uint8Array.from(out);
}

/** `aa:bb:cc:dd:ee:ff` to 6 bytes. */
export function mac(text: string): number[] {
  return text.split(":").map((h) => Number.parseInt(h, 16));
}

/** Dotted IPv4 to 4 bytes. */
export function ip4(text: string): number[] {
  return text.split(".").map(Number);
}

/** IPv6 text (with `::`) to 16 bytes. */
export function ip6(text: string): number[] {
  const [head = "", tail] = text.split("::");
  const groups = (s: string) => (s === "" ? [] : s.split(":").map((g) => Number.parseInt(g, 16)));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return all.flatMap(u16);
}

/** Ethernet II header + payload (`type` may be a VLAN TPID; add the tag with {@link vlanTag}). */
export function ether(dst: string, src: string, type: number, payload: ArrayLike<number>): Uint8Array {
  return bytes(mac(dst), mac(src), u16(type), payload);
}

/** An 802.1Q/802.1ad tag body (TCI + inner type), to follow a TPID. */
export function vlanTag(vid: number, innerType: number, pcp = 0): number[] {
  return [...u16((pcp << 13) | vid), ...u16(innerType)];
}

/** IPv4 header options for {@link ipv4}. */
export interface Ipv4Options {
  readonly proto: number;
  readonly src: string;
  readonly dst: string;
  /** IP options, a multiple of 4 bytes. */
  readonly options?: number[];
  /** Flags (bit 1 DF, bit 0 MF) and fragment offset in 8-byte units. */
  readonly flags?: number;
  readonly fragOffset?: number;
  readonly ttl?: number;
}

/** IPv4 packet. */
export function ipv4(o: Ipv4Options, payload: ArrayLike<number>): Uint8Array {
  const opts = o.options ?? [];
  const ihl = 5 + opts.length / 4;
  const total = ihl * 4 + payload.length;
  const fragment = ((o.flags ?? 0) << 13) | (o.fragOffset ?? 0);
  return bytes(
    [0x40 | ihl, 0, ...u16(total), ...u16(0x1234), ...u16(fragment), o.ttl ?? 64, o.proto, 0, 0],
    ip4(o.src),
    ip4(o.dst),
    opts,
    payload,
  );
}

/** IPv6 packet; `next` is the first next-header value. */
export function ipv6(next: number, src: string, dst: string, payload: ArrayLike<number>): Uint8Array {
  return bytes([0x60, 0, 0, 0, ...u16(payload.length), next, 64], ip6(src), ip6(dst), payload);
}

/** An 8-byte IPv6 extension header (hop-by-hop, destination options) followed by `rest`. */
export function ext8(next: number, rest: ArrayLike<number>): Uint8Array {
  return bytes([next, 0, 1, 4, 0, 0, 0, 0], rest);
}

/** An IPv6 fragment header followed by `rest`. */
export function fragmentHeader(
  next: number,
  offset8: number,
  more: boolean,
  rest: ArrayLike<number>,
): Uint8Array {
  return bytes([next, 0, ...u16((offset8 << 3) | (more ? 1 : 0)), ...u32(0xabcdef)], rest);
}

/** TCP flag bits. */
export const Tcp = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32 } as const;

/** TCP segment with a 20-byte header. */
export function tcp(
  sport: number,
  dport: number,
  flags: number,
  payload: ArrayLike<number> = [],
): Uint8Array {
  return bytes(
    [...u16(sport), ...u16(dport), ...u32(1000), ...u32(0), 0x50, flags, ...u16(8192), 0, 0, 0, 0],
    payload,
  );
}

/** UDP datagram. */
export function udp(sport: number, dport: number, payload: ArrayLike<number> = []): Uint8Array {
  return bytes([...u16(sport), ...u16(dport), ...u16(8 + payload.length), 0, 0], payload);
}

/** ICMP or ICMPv6 message (same layout for the first 8 bytes). */
export function icmp(type: number, code = 0): Uint8Array {
  return bytes([type, code, 0, 0, 0, 1, 0, 1]);
}

/** ARP over Ethernet/IPv4. */
export function arp(op: number, sha: string, spa: string, tha: string, tpa: string): Uint8Array {
  return bytes([0, 1, 8, 0, 6, 4, 0, op], mac(sha), ip4(spa), mac(tha), ip4(tpa));
}

/** Linux cooked v1 header (packet type 0, ARPHRD_ETHER) + payload. */
export function sll(protocol: number, payload: ArrayLike<number>): Uint8Array {
  return bytes([0, 0, 0, 1, 0, 6], mac("00:11:22:33:44:55"), [0, 0], u16(protocol), payload);
}

/** BSD loopback header: the address family in the capturing host's byte order. */
export function nullHeader(family: number, payload: ArrayLike<number>, bigEndian = false): Uint8Array {
  const le = [family & 0xff, (family >>> 8) & 0xff, 0, 0];
  return bytes(bigEndian ? le.reverse() : le, payload);
}

/** A frame captured whole. */
export function whole(data: Uint8Array): Frame {
  return { data, origLen: data.length };
}

/** A frame cut to its first `caplen` bytes, as a short snaplen does. */
export function cut(data: Uint8Array, caplen: number): Frame {
  return { data: data.subarray(0, caplen), origLen: data.length };
}

/** Classic pcap: record i has timestamp i seconds, so output maps back to indices. */
export function pcapFile(
  linkType: number,
  frames: readonly Frame[],
  snaplen = 262_144,
  bigEndian = false,
): Buffer {
  const u32 = (b: Buffer, v: number, at: number) =>
    bigEndian ? b.writeUInt32BE(v, at) : b.writeUInt32LE(v, at);
  const u16 = (b: Buffer, v: number, at: number) =>
    bigEndian ? b.writeUInt16BE(v, at) : b.writeUInt16LE(v, at);
  const parts: Buffer[] = [];
  const header = Buffer.alloc(24);
  u32(header, 0xa1b2c3d4, 0);
  u16(header, 2, 4);
  u16(header, 4, 6);
  u32(header, snaplen, 16);
  u32(header, linkType, 20);
  parts.push(header);
  frames.forEach((frame, index) => {
    const record = Buffer.alloc(16);
    u32(record, index, 0);
    u32(record, frame.data.length, 8);
    u32(record, frame.origLen, 12);
    parts.push(record, Buffer.from(frame.data));
  });
  return Buffer.concat(parts);
}

/** Timestamps (seconds) of the records of a little-endian classic pcap (what tcpdump -w writes here). */
export function recordSeconds(file: Buffer): number[] {
  const seconds: number[] = [];
  for (let at = 24; at + 16 <= file.length; at += 16 + file.readUInt32LE(at + 8)) {
    seconds.push(file.readUInt32LE(at));
  }
  return seconds;
}
