/** Transport layer (TCP, UDP, ICMP, ICMPv6, SCTP) and the choice of application decoder. */

import { decodeDns } from "./app-dns.js";
import { decodeHttp, looksLikeHttp } from "./app-http.js";
import { decodeTls } from "./app-tls.js";
import { u16, u32 } from "./bytes.js";
import { addLayer, type DecodedPacket } from "./decoded-packet.js";
import { Layer } from "./protocol-path.js";
import { IpProto } from "./protocols.js";

/**
 * Decodes the transport header at `p`. `end` is where captured IP payload bytes stop,
 * `wireEnd` where the IP header says the datagram stops (>= end).
 */
export function decodeTransport(
  out: DecodedPacket,
  buf: Buffer,
  p: number,
  end: number,
  wireEnd: number,
  proto: number,
): void {
  out.l4Offset = p;
  switch (proto) {
    case IpProto.TCP: {
      addLayer(out, Layer.TCP);
      if (end - p < 4) {
        short(out);
        return;
      }
      ports(out, buf, p);
      if (end - p < 20) {
        short(out);
        return;
      }
      out.tcpSeq = u32(buf, p + 4);
      out.tcpAck = u32(buf, p + 8);
      const b12 = buf[p + 12] as number;
      out.tcpFlags = (buf[p + 13] as number) | ((b12 & 1) << 8);
      const hdr = (b12 >>> 4) * 4;
      if (hdr < 20) {
        out.malformed = true;
        return;
      }
      if (p + hdr > end) {
        short(out);
        return;
      }
      setPayload(out, p + hdr, end, wireEnd);
      if (out.payloadLength > 0) tcpApp(out, buf, out.payloadOffset, end);
      return;
    }
    case IpProto.UDP: {
      addLayer(out, Layer.UDP);
      if (end - p < 4) {
        short(out);
        return;
      }
      ports(out, buf, p);
      if (end - p < 8) {
        short(out);
        return;
      }
      const len = u16(buf, p + 4);
      // The UDP length bounds the payload unless it is 0 (jumbo) or the datagram is a first fragment.
      const udpEnd = len >= 8 && !out.moreFragments ? p + len : wireEnd;
      setPayload(out, p + 8, Math.min(udpEnd, end), Math.min(udpEnd, wireEnd));
      if (out.payloadLength > 0) udpApp(out, buf, out.payloadOffset, out.payloadOffset + out.payloadLength);
      return;
    }
    case IpProto.ICMP:
    case IpProto.ICMPV6:
      addLayer(out, proto === IpProto.ICMP ? Layer.ICMP : Layer.ICMPV6);
      if (end - p < 2) {
        short(out);
        return;
      }
      out.icmpType = buf[p] as number;
      out.icmpCode = buf[p + 1] as number;
      if (end - p < 4) {
        short(out);
        return;
      }
      setPayload(out, Math.min(p + 8, end), end, wireEnd);
      return;
    case IpProto.SCTP:
      addLayer(out, Layer.SCTP);
      if (end - p < 4) {
        short(out);
        return;
      }
      ports(out, buf, p);
      setPayload(out, Math.min(p + 12, end), end, wireEnd);
      return;
    case IpProto.ESP:
      addLayer(out, Layer.ESP);
      setPayload(out, p, end, wireEnd);
      return;
    default:
      setPayload(out, p, end, wireEnd);
      if (out.payloadLength > 0) addLayer(out, Layer.DATA);
  }
}

function short(out: DecodedPacket): void {
  out.truncated = true;
}

function ports(out: DecodedPacket, buf: Buffer, p: number): void {
  out.srcPort = u16(buf, p);
  out.dstPort = u16(buf, p + 2);
}

function setPayload(out: DecodedPacket, at: number, end: number, wireEnd: number): void {
  out.payloadOffset = at;
  out.payloadLength = end > at ? end - at : 0;
  out.payloadWireLength = wireEnd > at ? wireEnd - at : 0;
}

function hasPort(out: DecodedPacket, port: number): boolean {
  return out.srcPort === port || out.dstPort === port;
}

const TLS_PORTS = [443, 8443, 993, 995, 465, 636, 853, 5061];

function tcpApp(out: DecodedPacket, buf: Buffer, p: number, end: number): void {
  const b0 = buf[p] as number;
  if (hasPort(out, 53)) {
    // DNS over TCP: a two-byte length precedes each message.
    out.app = "dns";
    addLayer(out, Layer.DNS);
    if (end - p >= 2) decodeDns(out, buf, p + 2, end);
  } else if (
    hasPort(out, 22) ||
    (b0 === 0x53 && buf[p + 1] === 0x53 && buf[p + 2] === 0x48 && buf[p + 3] === 0x2d)
  ) {
    out.app = "ssh";
    addLayer(out, Layer.SSH);
  } else if (hasPort(out, 3306)) {
    out.app = "mysql";
    addLayer(out, Layer.MYSQL);
  } else if (b0 >= 20 && b0 <= 23 && end - p >= 2 && buf[p + 1] === 3) {
    out.app = "tls";
    addLayer(out, Layer.TLS);
    if (b0 === 22) decodeTls(out, buf, p, end);
  } else if (looksLikeHttp(buf, p, end)) {
    out.app = "http";
    addLayer(out, Layer.HTTP);
    decodeHttp(out, buf, p, end);
  } else if (TLS_PORTS.includes(out.srcPort) || TLS_PORTS.includes(out.dstPort)) {
    out.app = "tls";
    addLayer(out, Layer.TLS);
  } else if (hasPort(out, 80) || hasPort(out, 8080)) {
    out.app = "http";
    addLayer(out, Layer.HTTP);
  } else {
    out.app = "data";
    addLayer(out, Layer.DATA);
  }
}

function udpApp(out: DecodedPacket, buf: Buffer, p: number, end: number): void {
  if (hasPort(out, 53)) {
    out.app = "dns";
    addLayer(out, Layer.DNS);
    decodeDns(out, buf, p, end);
  } else {
    out.app = "data";
    addLayer(out, Layer.DATA);
  }
}
