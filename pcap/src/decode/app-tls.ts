/**
 * TLS: the server_name of a ClientHello in the first record of a segment. Every length is
 * checked against both the record and the captured bytes, so a hello cut by the capture (or
 * split over segments) yields the SNI only if all of it is present, and never throws.
 * (A capture cut is already flagged `truncated` by the IP layer.)
 */
import { u16 } from "./bytes.js";
import type { DecodedPacket } from "./decoded-packet.js";

/** Decodes a handshake record at `p` (content type 22 already checked) up to `end`. */
export function decodeTls(out: DecodedPacket, buf: Buffer, p: number, end: number): void {
  if (end - p < 5) return;
  const recLen = u16(buf, p + 3);
  const recEnd = p + 5 + recLen;
  const limit = Math.min(recEnd, end);
  let q = p + 5;
  // Handshake header: type 1 (ClientHello), 3-byte length; then version (2) and random (32).
  if (limit - q < 4 || buf[q] !== 1) return;
  const hsLen = (buf[q + 1] as number) * 65536 + u16(buf, q + 2);
  const bodyEnd = Math.min(limit, q + 4 + hsLen);
  q += 4 + 2 + 32;
  if (bodyEnd - q < 1) return;
  q += 1 + (buf[q] as number); // session id
  if (bodyEnd - q < 2) return;
  q += 2 + u16(buf, q); // cipher suites
  if (bodyEnd - q < 1) return;
  q += 1 + (buf[q] as number); // compression methods
  if (bodyEnd - q < 2) return;
  const extEnd = Math.min(bodyEnd, q + 2 + u16(buf, q));
  q += 2;
  while (extEnd - q >= 4) {
    const type = u16(buf, q);
    const len = u16(buf, q + 2);
    q += 4;
    if (type === 0) {
      readServerName(out, buf, q, Math.min(extEnd, q + len));
      return;
    }
    q += len;
  }
}

/** server_name_list: u16 length, then entries of type (0 = host_name), u16 length, name. */
function readServerName(out: DecodedPacket, buf: Buffer, p: number, extEnd: number): void {
  if (extEnd - p < 5) return;
  let q = p + 2;
  while (extEnd - q >= 3) {
    const kind = buf[q] as number;
    const len = u16(buf, q + 1);
    q += 3;
    if (q + len > extEnd) return;
    if (kind === 0) {
      out.tlsSni = buf.toString("latin1", q, q + len);
      return;
    }
    q += len;
  }
}
