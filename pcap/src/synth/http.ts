/** HTTP/1.1 message builders: a request with its Host header, and a response head. */

/** Fields of an HTTP/1.1 request. */
export interface HttpRequestOptions {
  /** Default GET. */
  method?: string;
  /** Request target (default "/"). */
  path?: string;
  /** Host header value. */
  host: string;
  /** Headers after Host, in order (default a curl-like User-Agent and Accept). */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** Body; a Content-Length header is added when present. */
  body?: Uint8Array;
}

const DEFAULT_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ["User-Agent", "curl/8.5.0"],
  ["Accept", "*/*"],
];

/** Builds the request line, Host first, the other headers, a blank line and the body. */
export function buildHttpRequest(o: HttpRequestOptions): Buffer {
  const headers = [...(o.headers ?? DEFAULT_HEADERS)];
  if (o.body !== undefined) headers.push(["Content-Length", String(o.body.length)]);
  const head =
    `${o.method ?? "GET"} ${o.path ?? "/"} HTTP/1.1\r\nHost: ${o.host}\r\n` +
    headers.map(([k, v]) => `${k}: ${v}\r\n`).join("") +
    "\r\n";
  const headBytes = Buffer.from(head, "latin1");
  return o.body === undefined ? headBytes : Buffer.concat([headBytes, o.body]);
}

/** Builds a response head announcing `contentLength` body bytes (the body is sent separately). */
export function buildHttpResponseHead(o: {
  status?: number;
  reason?: string;
  contentLength: number;
  contentType?: string;
}): Buffer {
  const status = o.status ?? 200;
  return Buffer.from(
    `HTTP/1.1 ${status} ${o.reason ?? (status === 200 ? "OK" : "Status")}\r\n` +
      `Server: nginx/1.24.0\r\nContent-Type: ${o.contentType ?? "application/octet-stream"}\r\n` +
      `Content-Length: ${o.contentLength}\r\nConnection: keep-alive\r\n\r\n`,
    "latin1",
  );
}
