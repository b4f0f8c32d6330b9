/** DNS: the first question of a message (name and type), following compression pointers safely. */
import { u16 } from "./bytes.js";
import type { DecodedPacket } from "./decoded-packet.js";
import { IpProto } from "./protocols.js";

/**
 * The message ended early. When the capture cut the packet that is `truncated`; a whole UDP
 * datagram that is too short is `malformed`; over TCP, or in a first fragment, the message
 * continues in the next segment or fragment, which is neither.
 */
function short(out: DecodedPacket): void {
  if (out.payloadWireLength > out.payloadLength) out.truncated = true;
  else bad(out);
}

/** An invalid message, which only a whole UDP datagram can be sure of (TCP may start mid-message). */
function bad(out: DecodedPacket): void {
  if (out.ipProto === IpProto.UDP && !out.isFragment) out.malformed = true;
}

/** Decodes the DNS header and first question at `p` (message start) up to `end`. */
export function decodeDns(out: DecodedPacket, buf: Buffer, p: number, end: number): void {
  if (end - p < 12) {
    short(out);
    return;
  }
  out.dnsId = u16(buf, p);
  out.dnsResponse = ((buf[p + 2] as number) & 0x80) !== 0;
  const qdcount = u16(buf, p + 4);
  if (qdcount === 0) return;
  const after = readName(out, buf, p, p + 12, end);
  if (after < 0) return;
  if (end - after < 4) {
    short(out);
    return;
  }
  out.dnsType = u16(buf, after);
}

/**
 * Reads the name at `at` into `out.dnsName`; returns the offset after it in the message
 * (after the first pointer when compressed), or -1 when the name is cut or invalid.
 */
function readName(out: DecodedPacket, buf: Buffer, msg: number, at: number, end: number): number {
  const scratch = out.scratch;
  let len = 0;
  let pos = at;
  let after = -1;
  // Each pointer must go backwards, which bounds the walk; the counter bounds it regardless.
  for (let steps = 0; steps < 256; steps++) {
    if (pos >= end) {
      short(out);
      return -1;
    }
    const b = buf[pos] as number;
    if (b === 0) {
      if (after < 0) after = pos + 1;
      out.dnsName = len === 0 ? "<Root>" : scratch.toString("latin1", 0, len);
      return after;
    }
    if ((b & 0xc0) === 0xc0) {
      if (pos + 1 >= end) {
        short(out);
        return -1;
      }
      const target = msg + ((b & 0x3f) * 256 + (buf[pos + 1] as number));
      if (after < 0) after = pos + 2;
      if (target >= pos) {
        bad(out);
        return -1;
      }
      pos = target;
      continue;
    }
    if ((b & 0xc0) !== 0) {
      bad(out);
      return -1;
    }
    if (pos + 1 + b > end) {
      short(out);
      return -1;
    }
    if (len + b + 1 > 255) {
      bad(out);
      return -1;
    }
    if (len > 0) scratch[len++] = 0x2e;
    buf.copy(scratch, len, pos + 1, pos + 1 + b);
    len += b;
    pos += 1 + b;
  }
  bad(out);
  return -1;
}
