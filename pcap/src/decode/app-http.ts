/** HTTP/1.x: request method and Host header, read in place without per-line strings. */
import type { DecodedPacket } from "./decoded-packet.js";

/** Request methods recognised at the start of a segment (RFC 9110 9.3 and PATCH). */
const METHODS: readonly string[] = [
  "GET",
  "POST",
  "HEAD",
  "PUT",
  "DELETE",
  "OPTIONS",
  "PATCH",
  "CONNECT",
  "TRACE",
];
const METHOD_BYTES: readonly Buffer[] = METHODS.map((m) => Buffer.from(`${m} `, "latin1"));
const RESPONSE = Buffer.from("HTTP/1.", "latin1");

function startsWith(buf: Buffer, p: number, end: number, token: Buffer): boolean {
  if (end - p < token.length) return false;
  for (let i = 0; i < token.length; i++) if (buf[p + i] !== token[i]) return false;
  return true;
}

/** Index into METHODS of the request line's method, or -1. */
function methodAt(buf: Buffer, p: number, end: number): number {
  for (let i = 0; i < METHOD_BYTES.length; i++)
    if (startsWith(buf, p, end, METHOD_BYTES[i] as Buffer)) return i;
  return -1;
}

/** True when the payload starts an HTTP/1.x request or response. */
export function looksLikeHttp(buf: Buffer, p: number, end: number): boolean {
  const b = buf[p] as number;
  if (b < 0x41 || b > 0x5a) return false;
  return methodAt(buf, p, end) >= 0 || startsWith(buf, p, end, RESPONSE);
}

/** Reads the method and the Host header of a request starting at `p`. */
export function decodeHttp(out: DecodedPacket, buf: Buffer, p: number, end: number): void {
  const m = methodAt(buf, p, end);
  if (m < 0) return;
  out.httpMethod = METHODS[m] ?? null;
  let line = nextLine(buf, p, end);
  while (line > 0 && line < end) {
    const eol = lineEnd(buf, line, end);
    if (eol < 0) return; // header line cut: do not report a partial value
    if (eol === line) return; // blank line: end of headers
    if (isHost(buf, line, eol)) {
      let a = line + 5;
      let b = eol;
      while (a < b && (buf[a] === 0x20 || buf[a] === 0x09)) a++;
      while (b > a && (buf[b - 1] === 0x20 || buf[b - 1] === 0x09)) b--;
      out.httpHost = buf.toString("latin1", a, b);
      return;
    }
    line = nextLine(buf, line, end);
  }
}

/** Offset of the line's end (before CR LF or LF), or -1 when the line does not end before `end`. */
function lineEnd(buf: Buffer, p: number, end: number): number {
  const nl = indexOfLf(buf, p, end);
  if (nl < 0) return -1;
  return nl > p && buf[nl - 1] === 0x0d ? nl - 1 : nl;
}

/** Offset of the next line's start, or -1. */
function nextLine(buf: Buffer, p: number, end: number): number {
  const nl = indexOfLf(buf, p, end);
  return nl < 0 ? -1 : nl + 1;
}

/** First LF in `buf[p, end)`; a bounded loop, since `buf` may be a reader's large chunk. */
function indexOfLf(buf: Buffer, p: number, end: number): number {
  for (let i = p; i < end; i++) if (buf[i] === 0x0a) return i;
  return -1;
}

/** "Host:" in any case. */
function isHost(buf: Buffer, p: number, eol: number): boolean {
  return (
    eol - p >= 5 &&
    ((buf[p] as number) | 0x20) === 0x68 &&
    ((buf[p + 1] as number) | 0x20) === 0x6f &&
    ((buf[p + 2] as number) | 0x20) === 0x73 &&
    ((buf[p + 3] as number) | 0x20) === 0x74 &&
    buf[p + 4] === 0x3a
  );
}
