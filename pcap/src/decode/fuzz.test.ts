import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateTraffic } from "../synth/traffic.js";
import { LinkType } from "../types.js";
import { decodeUnguarded } from "./decode-packet.js";
import { createDecodedPacket, type DecodedPacket } from "./decoded-packet.js";

/**
 * The unguarded decoder, so an exception fails the property instead of being caught, plus
 * the invariants a bounds slip would break: integer fields, offsets inside the buffer.
 */
function decodeFrame(
  buf: Buffer,
  offset: number,
  caplen: number,
  origLen: number,
  linkType: number,
  d: DecodedPacket,
): void {
  decodeUnguarded(buf, offset, caplen, origLen, linkType, d);
  const problem = invariantViolation(d, buf, offset + caplen);
  if (problem !== "") expect.fail(`${problem} (link type ${linkType}, bytes ${buf.toString("hex")})`);
}

function invariantViolation(d: DecodedPacket, buf: Buffer, end: number): string {
  for (const key in d) {
    const value = d[key as keyof DecodedPacket];
    if (typeof value === "number" && !Number.isInteger(value)) return `${key} is ${value}`;
  }
  for (const off of [d.l3Offset, d.l4Offset, d.srcOffset, d.dstOffset, d.payloadOffset]) {
    if (off < -1 || off > buf.length) return `offset ${off} outside the buffer`;
  }
  if (d.payloadLength < 0 || d.payloadWireLength < d.payloadLength) return "bad payload lengths";
  if (d.payloadOffset >= 0 && d.payloadOffset + d.payloadLength > end)
    return "payload past the captured bytes";
  if (!/^[a-z0-9]*(:[a-z0-9]+)*$/.test(d.protocolPath)) return `bad path ${d.protocolPath}`;
  return "";
}

const LINK_TYPES = [...Object.values(LinkType), 12345];

describe("decoder robustness (fast-check)", () => {
  it("never throws on random bytes, whatever the link type", () => {
    const d = createDecodedPacket();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...LINK_TYPES), (bytes, linkType) => {
        const buf = Buffer.from(bytes);
        decodeFrame(buf, 0, buf.length, buf.length, linkType, d);
        expect(typeof d.protocolPath).toBe("string");
        expect(d.payloadOffset + d.payloadLength).toBeLessThanOrEqual(buf.length);
        expect(d.srcOffset).toBeLessThan(Math.max(buf.length, 1));
      }),
      { numRuns: 10_000 },
    );
  });

  it("never throws on random bytes behind valid link headers (deep paths)", () => {
    const d = createDecodedPacket();
    const heads = [
      Buffer.from("0200000000010200000000020800", "hex"), // Ethernet, IPv4
      Buffer.from("02000000000102000000000286dd", "hex"), // Ethernet, IPv6
      Buffer.from("0200000000010200000000028100006408004500", "hex"), // VLAN, IPv4 start
    ];
    fc.assert(
      fc.property(fc.constantFrom(...heads), fc.uint8Array({ maxLength: 200 }), (head, tail) => {
        const buf = Buffer.concat([head, tail]);
        decodeFrame(buf, 0, buf.length, buf.length, LinkType.ETHERNET, d);
      }),
      { numRuns: 10_000 },
    );
  });

  const real = [...generateTraffic({ seed: 77, packets: 3000, vlanShare: 0.3, ipv6Share: 0.4 })].map(
    (p) => p.data,
  );

  it("decodes any truncation of real packets consistently with the whole packet", () => {
    const full = createDecodedPacket();
    const cut = createDecodedPacket();
    fc.assert(
      fc.property(fc.nat(real.length - 1), fc.double({ min: 0, max: 1, noNaN: true }), (index, fraction) => {
        const data = real[index] as Buffer;
        const caplen = Math.floor(data.length * fraction);
        decodeFrame(data, 0, data.length, data.length, LinkType.ETHERNET, full);
        decodeFrame(data, 0, caplen, data.length, LinkType.ETHERNET, cut);
        // Whatever the cut packet yields is what the whole packet says.
        if (cut.srcOffset >= 0) expect([cut.src4, cut.srcOffset]).toEqual([full.src4, full.srcOffset]);
        if (cut.srcPort >= 0) expect([cut.srcPort, cut.dstPort]).toEqual([full.srcPort, full.dstPort]);
        if (cut.dnsName !== null) expect(cut.dnsName).toBe(full.dnsName);
        if (cut.tlsSni !== null) expect(cut.tlsSni).toBe(full.tlsSni);
        if (cut.httpHost !== null) expect(cut.httpHost).toBe(full.httpHost);
        expect(full.protocolPath.startsWith(cut.protocolPath.split(":").slice(0, -1).join(":"))).toBe(true);
        // Cut inside the IP datagram: the decoder says so.
        const datagramEnd = full.payloadOffset >= 0 ? full.payloadOffset + full.payloadWireLength : -1;
        if (caplen < datagramEnd) expect(cut.truncated).toBe(true);
        expect(full.truncated).toBe(false);
      }),
      { numRuns: 10_000 },
    );
  });

  it("never throws on application payloads that start right and continue at random", () => {
    const d = createDecodedPacket();
    const heads = real.filter((p) => {
      decodeFrame(p, 0, p.length, p.length, LinkType.ETHERNET, d);
      return d.payloadOffset >= 0 && (d.app === "dns" || d.app === "tls" || d.app === "http");
    });
    const starts = [
      "",
      "160301",
      "16030100ff010000fb0303",
      "474554202f20485454502f312e310d0a",
      "0001010000010000000000",
    ].map((h) => Buffer.from(h, "hex"));
    fc.assert(
      fc.property(
        fc.nat(heads.length - 1),
        fc.constantFrom(...starts),
        fc.uint8Array({ maxLength: 300 }),
        (i, start, tail) => {
          const packet = heads[i] as Buffer;
          decodeFrame(packet, 0, packet.length, packet.length, LinkType.ETHERNET, d);
          const buf = Buffer.concat([packet.subarray(0, d.payloadOffset), start, tail]);
          decodeFrame(buf, 0, buf.length, buf.length, LinkType.ETHERNET, d);
        },
      ),
      { numRuns: 10_000 },
    );
  });

  it("never throws on real packets with random bytes overwritten", () => {
    const d = createDecodedPacket();
    fc.assert(
      fc.property(
        fc.nat(real.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.constantFrom(...LINK_TYPES),
        (index, edits, linkType) => {
          const data = Buffer.from(real[index] as Buffer);
          for (const [at, value] of edits) data[at % data.length] = value;
          decodeFrame(data, 0, data.length, data.length, linkType, d);
        },
      ),
      { numRuns: 10_000 },
    );
  });
});
