/**
 * The key extractor on single packets: the keys of each link type, and the places where it
 * deliberately reads like libpcap rather than like a validating decoder.
 */
import { describe, expect, it } from "vitest";
import { BsdAf } from "../decode/index.js";
import { buildIpv4, buildIpv6, buildTcp, buildUdp, encapsulate } from "../synth/index.js";
import { LinkType } from "../types.js";
import { craftedFrames } from "./crafted.test-support.js";
import { extractKeys, isIndexableLinkType, type KeySink } from "./keys.js";

/** A sink that writes every key as text, in the order reported. */
class Collect implements KeySink {
  readonly keys: string[] = [];
  ip4(value: number): void {
    this.keys.push(`ip4 ${[value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".")}`);
  }
  ip6(buf: Uint8Array, at: number, words: number): void {
    this.keys.push(`ip6 ${Buffer.from(buf.subarray(at, at + words * 4)).toString("hex")}`);
  }
  port(value: number): void {
    this.keys.push(`port ${value}`);
  }
  proto(value: number): void {
    this.keys.push(`proto ${value}`);
  }
  vlan(id: number): void {
    this.keys.push(`vlan ${id}`);
  }
}

function keysOf(frame: Uint8Array, linkType: number = LinkType.ETHERNET, caplen = frame.length): string[] {
  const sink = new Collect();
  expect(extractKeys(frame, 0, caplen, linkType, sink)).toBe(true);
  return sink.keys;
}

const v4 = buildIpv4({
  src: "10.1.2.3",
  dst: "10.4.5.6",
  protocol: 17,
  payload: buildUdp({ src: "10.1.2.3", dst: "10.4.5.6", srcPort: 5353, dstPort: 53 }),
});
const v6 = buildIpv6({
  src: "fd00::1",
  dst: "fd00::2",
  nextHeader: 6,
  payload: buildTcp({ src: "fd00::1", dst: "fd00::2", srcPort: 40000, dstPort: 443, flags: 2 }),
});
const v4Keys = ["proto 17", "ip4 10.1.2.3", "ip4 10.4.5.6", "port 5353", "port 53"];
const v6Keys = ["proto 6", `ip6 fd${"0".repeat(29)}1`, `ip6 fd${"0".repeat(29)}2`, "port 40000", "port 443"];

describe("extractKeys", () => {
  it.each([
    ["Ethernet", LinkType.ETHERNET],
    ["SLL", LinkType.LINUX_SLL],
    ["SLL2", LinkType.LINUX_SLL2],
    ["LOOP", LinkType.LOOP],
    ["RAW", LinkType.RAW],
  ])("reads IPv4 and IPv6 on %s", (_, linkType) => {
    expect(keysOf(encapsulate(linkType, v4), linkType)).toEqual(v4Keys);
    expect(keysOf(encapsulate(linkType, v6), linkType)).toEqual(v6Keys);
  });

  it("reads the fixed-family link types and NULL in both byte orders", () => {
    expect(keysOf(v4, LinkType.IPV4)).toEqual(v4Keys);
    expect(keysOf(v6, LinkType.IPV6)).toEqual(v6Keys);
    for (const family of [BsdAf.INET6_BSD, BsdAf.INET6_FREEBSD, BsdAf.INET6_DARWIN]) {
      const le = Buffer.alloc(4);
      le.writeUInt32LE(family);
      const be = Buffer.alloc(4);
      be.writeUInt32BE(family);
      expect(keysOf(Buffer.concat([le, v6]), LinkType.NULL)).toEqual(v6Keys);
      expect(keysOf(Buffer.concat([be, v6]), LinkType.NULL)).toEqual(v6Keys);
    }
  });

  it("reports every tag of a VLAN stack, and a tag whose id is cut", () => {
    const tripleTagged = craftedFrames()[20]; // three tags: 3002, 3003, 3004
    const keys = keysOf(tripleTagged as Buffer);
    expect(keys.slice(0, 3)).toEqual(["vlan 3002", "vlan 3003", "vlan 3004"]);
    expect(keys).toContain("ip4 198.51.100.30");
    expect(keysOf(tripleTagged as Buffer, LinkType.ETHERNET, 15)).toEqual(["vlan -1"]);
  });

  it("records whatever is captured of a cut packet", () => {
    const frame = encapsulate(LinkType.ETHERNET, v6);
    expect(keysOf(frame, LinkType.ETHERNET, 14 + 7)).toEqual(["proto 6"]);
    expect(keysOf(frame, LinkType.ETHERNET, 14 + 15)).toEqual(["proto 6", "ip6 fd000000"]);
    expect(keysOf(frame, LinkType.ETHERNET, 14 + 42)).toEqual([...v6Keys.slice(0, 3), "port 40000"]);
    const ip = encapsulate(LinkType.ETHERNET, v4);
    expect(keysOf(ip, LinkType.ETHERNET, 14 + 19)).toEqual(["proto 17", "ip4 10.1.2.3"]);
  });

  it("reads ports at 4 * IHL even when the IHL is invalid, as libpcap does", () => {
    const frame = Buffer.from(encapsulate(LinkType.ETHERNET, v4));
    frame[14] = 0x42; // IHL 2: the "ports" are bytes 8..11 of the IP header
    expect(keysOf(frame)).toContain(`port ${frame.readUInt16BE(14 + 8)}`);
  });

  it("records every protocol of an IPv6 extension chain and stops at later fragments", () => {
    const [hopByHop, routing, , laterFragment] = craftedFrames();
    expect(keysOf(hopByHop as Buffer).filter((k) => k.startsWith("proto"))).toEqual(["proto 0", "proto 6"]);
    expect(keysOf(routing as Buffer)).toContain("port 40002");
    const later = keysOf(laterFragment as Buffer);
    expect(later.filter((k) => k.startsWith("proto"))).toEqual(["proto 44", "proto 17"]);
    expect(later.some((k) => k.startsWith("port"))).toBe(false);
  });

  it("refuses link types it does not know", () => {
    expect(isIndexableLinkType(105)).toBe(false);
    expect(extractKeys(v4, 0, v4.length, 105, new Collect())).toBe(false);
  });
});
