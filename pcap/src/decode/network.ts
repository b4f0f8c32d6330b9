/** Network layer: VLAN tags, IPv4, IPv6 (walking extension headers) and ARP. */

import { LinkType } from "../types.js";
import { u16, u32 } from "./bytes.js";
import { addLayer, type DecodedPacket } from "./decoded-packet.js";
import { Layer } from "./protocol-path.js";
import { EtherType, IpProto } from "./protocols.js";
import { decodeTransport } from "./transport.js";

/** Decodes what follows an EtherType at `p`, unwrapping any number of VLAN tags first. */
export function decodeEtherPayload(
  out: DecodedPacket,
  buf: Buffer,
  p: number,
  end: number,
  etherType: number,
): void {
  let et = etherType;
  let pos = p;
  while (et === EtherType.VLAN || et === EtherType.QINQ || et === EtherType.QINQ_OLD) {
    addLayer(out, Layer.VLAN);
    if (end - pos < 4) {
      out.truncated = true;
      return;
    }
    const id = ((buf[pos] as number) & 0x0f) * 256 + (buf[pos + 1] as number);
    if (out.vlanCount < 2) out.vlanIds[out.vlanCount] = id;
    out.vlanCount++;
    et = u16(buf, pos + 2);
    pos += 4;
  }
  out.etherType = et;
  if (et === EtherType.IPV4) decodeIpv4(out, buf, pos, end);
  else if (et === EtherType.IPV6) decodeIpv6(out, buf, pos, end);
  else if (et === EtherType.ARP) decodeArp(out, buf, pos, end);
  else {
    out.l3 = "other";
    out.l3Offset = pos;
    // Values up to 1500 are 802.3 lengths: an LLC header follows, not an EtherType payload.
    addLayer(out, et <= 1500 ? Layer.LLC : Layer.ETHERTYPE);
  }
}

/** Raw IP link types: the version nibble decides, except where the link type fixes it. */
export function decodeIpByVersion(
  out: DecodedPacket,
  buf: Buffer,
  p: number,
  end: number,
  linkType: number,
): void {
  if (end - p < 1) {
    out.truncated = true;
    return;
  }
  const version = (buf[p] as number) >>> 4;
  if (linkType === LinkType.IPV4 || (linkType !== LinkType.IPV6 && version === 4))
    decodeIpv4(out, buf, p, end);
  else if (linkType === LinkType.IPV6 || version === 6) decodeIpv6(out, buf, p, end);
  else {
    out.l3 = "other";
    out.malformed = true;
  }
}

function decodeIpv4(out: DecodedPacket, buf: Buffer, p: number, end: number): void {
  out.l3 = "ipv4";
  out.l3Offset = p;
  addLayer(out, Layer.IP);
  if (end - p < 20) {
    out.truncated = true;
    return;
  }
  const b0 = buf[p] as number;
  const ihl = (b0 & 0x0f) * 4;
  if (b0 >>> 4 !== 4 || ihl < 20) {
    out.malformed = true;
    return;
  }
  out.src4 = u32(buf, p + 12);
  out.dst4 = u32(buf, p + 16);
  out.srcOffset = p + 12;
  out.dstOffset = p + 16;
  out.ttl = buf[p + 8] as number;
  out.ipProto = buf[p + 9] as number;
  out.fragId = u16(buf, p + 4);
  const frag = u16(buf, p + 6);
  out.fragOffset = (frag & 0x1fff) * 8;
  out.moreFragments = (frag & 0x2000) !== 0;
  out.isFragment = out.moreFragments || out.fragOffset !== 0;
  const total = u16(buf, p + 2);
  // A total length of 0 is what TCP segmentation offload leaves in captures: trust the capture.
  let wireEnd = total === 0 ? end : p + total;
  if (total !== 0 && total < ihl) {
    out.malformed = true;
    return;
  }
  if (p + ihl > end) {
    out.truncated = true;
    return;
  }
  if (wireEnd > end) out.truncated = true;
  const ipEnd = Math.min(wireEnd, end);
  if (wireEnd < ipEnd) wireEnd = ipEnd;
  if (out.fragOffset !== 0) {
    // Later fragments carry no transport header.
    out.payloadOffset = p + ihl;
    out.payloadLength = ipEnd - out.payloadOffset;
    out.payloadWireLength = wireEnd - out.payloadOffset;
    return;
  }
  decodeTransport(out, buf, p + ihl, ipEnd, wireEnd, out.ipProto);
}

function decodeIpv6(out: DecodedPacket, buf: Buffer, p: number, end: number): void {
  out.l3 = "ipv6";
  out.l3Offset = p;
  addLayer(out, Layer.IPV6);
  if (end - p < 40) {
    out.truncated = true;
    return;
  }
  if ((buf[p] as number) >>> 4 !== 6) {
    out.malformed = true;
    return;
  }
  out.srcOffset = p + 8;
  out.dstOffset = p + 24;
  out.ttl = buf[p + 7] as number;
  const payloadLen = u16(buf, p + 4);
  let next = buf[p + 6] as number;
  // Payload length 0 with a hop-by-hop header is a jumbogram (or offload): trust the capture.
  let wireEnd = payloadLen === 0 && next === IpProto.HOPOPTS ? end : p + 40 + payloadLen;
  if (wireEnd > end) out.truncated = true;
  const ipEnd = Math.min(wireEnd, end);
  if (wireEnd < ipEnd) wireEnd = ipEnd;
  let pos = p + 40;
  for (let hops = 0; hops < 16; hops++) {
    if (
      next === IpProto.HOPOPTS ||
      next === IpProto.ROUTING ||
      next === IpProto.DSTOPTS ||
      next === 135 || // mobility
      next === 139 || // HIP
      next === 140 // shim6
    ) {
      if (ipEnd - pos < 2) {
        markShort(out, next);
        return;
      }
      const len = ((buf[pos + 1] as number) + 1) * 8;
      next = buf[pos] as number;
      pos += len;
    } else if (next === IpProto.AH) {
      if (ipEnd - pos < 2) {
        markShort(out, next);
        return;
      }
      addLayer(out, Layer.AH);
      const len = ((buf[pos + 1] as number) + 2) * 4;
      next = buf[pos] as number;
      pos += len;
    } else if (next === IpProto.FRAGMENT) {
      if (ipEnd - pos < 8) {
        markShort(out, next);
        return;
      }
      const fo = u16(buf, pos + 2);
      out.fragOffset = fo & 0xfff8;
      out.moreFragments = (fo & 1) !== 0;
      out.isFragment = out.moreFragments || out.fragOffset !== 0;
      out.fragId = u32(buf, pos + 4);
      next = buf[pos] as number;
      pos += 8;
      if (out.fragOffset !== 0) {
        out.ipProto = next;
        out.payloadOffset = pos;
        out.payloadLength = Math.max(0, ipEnd - pos);
        out.payloadWireLength = Math.max(0, wireEnd - pos);
        return;
      }
    } else break;
  }
  out.ipProto = next;
  if (pos > ipEnd) {
    if (pos > wireEnd) out.malformed = true;
    else out.truncated = true;
    return;
  }
  decodeTransport(out, buf, pos, ipEnd, wireEnd, next);
}

/** Bytes ended inside an IPv6 extension header: the protocol is the header we could not read. */
function markShort(out: DecodedPacket, next: number): void {
  out.ipProto = next;
  out.truncated = true;
}

function decodeArp(out: DecodedPacket, buf: Buffer, p: number, end: number): void {
  out.l3 = "arp";
  out.l3Offset = p;
  addLayer(out, Layer.ARP);
  if (end - p < 8) {
    out.truncated = true;
    return;
  }
  const ptype = u16(buf, p + 2);
  const hlen = buf[p + 4] as number;
  const plen = buf[p + 5] as number;
  out.arpOp = u16(buf, p + 6);
  if (ptype !== EtherType.IPV4 || plen !== 4) return;
  const spa = p + 8 + hlen;
  const tpa = spa + 4 + hlen;
  if (tpa + 4 > end) {
    out.truncated = true;
    return;
  }
  out.src4 = u32(buf, spa);
  out.dst4 = u32(buf, tpa);
  out.srcOffset = spa;
  out.dstOffset = tpa;
}
