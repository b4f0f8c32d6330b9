/**
 * Entry points of the decoder: link layer dispatch for every LinkType, then the network,
 * transport and application layers. Never throws: bytes that run out mark the result
 * `truncated`, inconsistent headers mark it `malformed`, and decoding stops there.
 */

import { LinkType, type PacketRecord } from "../types.js";
import { u16, u32 } from "./bytes.js";
import { addLayer, type DecodedPacket, finishPath, resetDecodedPacket } from "./decoded-packet.js";
import { decodeEtherPayload, decodeIpByVersion } from "./network.js";
import { Layer } from "./protocol-path.js";
import { BsdAf, EtherType } from "./protocols.js";

/** Decodes the packet of `rec` into `out` (reused; see {@link createDecodedPacket}) and returns `out`. */
export function decodePacket(rec: PacketRecord, out: DecodedPacket): DecodedPacket {
  return decodeFrame(rec.buf, rec.dataOffset, rec.caplen, rec.origLen, rec.linkType, out);
}

/** Decodes `caplen` bytes of `buf` from `offset`, a packet of link type `linkType`. */
export function decodeFrame(
  buf: Buffer,
  offset: number,
  caplen: number,
  origLen: number,
  linkType: number,
  out: DecodedPacket,
): DecodedPacket {
  try {
    decodeUnguarded(buf, offset, caplen, origLen, linkType, out);
  } catch {
    // Defensive only: every read is bounds-checked (the fuzz tests call decodeUnguarded to
    // prove it), but a decoder must never take an analysis loop down.
    out.malformed = true;
    finishPath(out);
  }
  return out;
}

/** {@link decodeFrame} without the safety net, so tests can see any exception. Internal. */
export function decodeUnguarded(
  buf: Buffer,
  offset: number,
  caplen: number,
  origLen: number,
  linkType: number,
  out: DecodedPacket,
): void {
  resetDecodedPacket(out, buf, linkType, caplen, origLen);
  const start = Math.max(offset, 0);
  const end = Math.min(buf.length, start + Math.max(caplen, 0));
  decodeLink(out, buf, start, end, linkType);
  finishPath(out);
}

function decodeLink(out: DecodedPacket, buf: Buffer, p: number, end: number, linkType: number): void {
  switch (linkType) {
    case LinkType.ETHERNET:
      out.link = "eth";
      addLayer(out, Layer.ETH);
      if (end - p < 14) {
        out.truncated = true;
        return;
      }
      decodeEtherPayload(out, buf, p + 14, end, u16(buf, p + 12));
      return;
    case LinkType.LINUX_SLL:
      out.link = "sll";
      addLayer(out, Layer.SLL);
      if (end - p < 16) {
        out.truncated = true;
        return;
      }
      decodeEtherPayload(out, buf, p + 16, end, u16(buf, p + 14));
      return;
    case LinkType.LINUX_SLL2:
      out.link = "sll2";
      addLayer(out, Layer.SLL2);
      if (end - p < 20) {
        out.truncated = true;
        return;
      }
      decodeEtherPayload(out, buf, p + 20, end, u16(buf, p));
      return;
    case LinkType.NULL:
    case LinkType.LOOP: {
      const isNull = linkType === LinkType.NULL;
      out.link = isNull ? "null" : "loop";
      addLayer(out, isNull ? Layer.NULL : Layer.LOOP);
      if (end - p < 4) {
        out.truncated = true;
        return;
      }
      // NULL is in the capturing host's byte order: a value above 0xffff means the other order.
      let family = isNull ? buf.readUInt32LE(p) : u32(buf, p);
      if (isNull && family > 0xffff) family = u32(buf, p);
      if (family === BsdAf.INET) decodeEtherPayload(out, buf, p + 4, end, EtherType.IPV4);
      else if (
        family === BsdAf.INET6_BSD ||
        family === BsdAf.INET6_FREEBSD ||
        family === BsdAf.INET6_DARWIN
      ) {
        decodeEtherPayload(out, buf, p + 4, end, EtherType.IPV6);
      } else out.l3 = "other";
      return;
    }
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6:
      out.link = "raw";
      addLayer(out, Layer.RAW);
      decodeIpByVersion(out, buf, p, end, linkType);
      return;
    default:
      out.link = "unknown";
  }
}
