/**
 * A file of the result store as an HTTP download: streamed from disk (never read whole),
 * Content-Length, a strong ETag (the file's SHA-256, known before sending), `Range` (one range;
 * `If-Range` honoured) for resuming a broken download of a multi-GB capture, and
 * `If-None-Match` so a client that has the file is told so without it being sent again.
 */
import { type FileHandle, open, stat } from "node:fs/promises";
import { AppError, ErrorCode } from "@pcapfleet/core";

/** What to send. */
export interface FileDownload {
  readonly path: string;
  /** Lowercase hex SHA-256 of the file; becomes the ETag. */
  readonly sha256: string;
  /** Name the browser saves it as. */
  readonly filename: string;
  readonly contentType: string;
}

/** A byte range, inclusive, or why the Range header cannot be served. */
type RangeAnswer = { start: number; end: number } | "unsatisfiable" | "whole";

/** RFC 9110 single byte range: `bytes=a-b`, `bytes=a-`, `bytes=-n`; anything else is whole. */
export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return "whole";
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return "whole"; // several ranges or another unit: send it all
  const [, first, last] = match as unknown as [string, string, string];
  if (first === "" && last === "") return "whole";
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || end < start) return "unsatisfiable";
  return { start, end };
}

/** Builds the response to `request` for `file`; a missing file is `not_found`. */
export async function fileResponse(request: Request, file: FileDownload): Promise<Response> {
  let size: number;
  try {
    size = (await stat(file.path)).size;
  } catch (cause) {
    throw new AppError(ErrorCode.NotFound, "the file is no longer on the collector", { cause });
  }
  const etag = `"${file.sha256}"`;
  const headers = new Headers({
    "content-type": file.contentType,
    "content-disposition": `attachment; filename="${file.filename.replace(/["\\\r\n]/g, "_")}"`,
    etag,
    "accept-ranges": "bytes",
    "cache-control": "private, no-transform",
  });
  const inm = request.headers.get("if-none-match");
  if (inm?.split(",").some((tag) => tag.trim() === etag || tag.trim() === "*")) {
    return new Response(null, { status: 304, headers });
  }
  const ifRange = request.headers.get("if-range");
  const rangeHeader =
    ifRange === null || ifRange === etag ? (request.headers.get("range") ?? undefined) : undefined;
  const range = parseRange(rangeHeader, size);
  if (range === "unsatisfiable") {
    headers.set("content-range", `bytes */${size}`);
    headers.set("content-type", "application/json");
    headers.delete("content-disposition");
    const body = {
      code: ErrorCode.InvalidArgument,
      message: `range not satisfiable: the file has ${size} bytes`,
    };
    return new Response(JSON.stringify(body), { status: 416, headers });
  }
  const start = range === "whole" ? 0 : range.start;
  const end = range === "whole" ? size - 1 : range.end;
  const length = size === 0 ? 0 : end - start + 1;
  headers.set("content-length", String(length));
  if (range !== "whole") headers.set("content-range", `bytes ${start}-${end}/${size}`);
  if (request.method === "HEAD" || length === 0) {
    return new Response(null, { status: range === "whole" ? 200 : 206, headers });
  }
  return new Response(fileBody(file.path, start, end), {
    status: range === "whole" ? 200 : 206,
    headers,
  });
}

/** Bytes read from the file per chunk of the body. */
const READ_BYTES = 1024 * 1024;

/**
 * Bytes `start`..`end` (inclusive) of the file at `path` as a web stream, read on demand in
 * 1 MiB chunks, two ahead of the socket. Not `Readable.toWeb(createReadStream())`: Node's
 * adapter copies every chunk into a fresh Uint8Array (to detach it from Node's buffer pool,
 * which 1 MiB reads never use), doubling the memory a download churns through; the garbage
 * collection that followed cost the collector more CPU than the download itself.
 */
function fileBody(path: string, start: number, end: number): ReadableStream<Uint8Array> {
  let handle: FileHandle | undefined;
  let position = start;
  const close = (): Promise<void> => {
    const open = handle;
    handle = undefined;
    return open === undefined ? Promise.resolve() : open.close().catch(() => undefined);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          handle ??= await open(path, "r");
          const length = Math.min(READ_BYTES, end + 1 - position);
          const chunk = Buffer.allocUnsafe(length);
          const { bytesRead } = await handle.read(chunk, 0, length, position);
          if (bytesRead === 0) throw new Error(`${path} ended at ${position}, before byte ${end}`);
          position += bytesRead;
          controller.enqueue(bytesRead === length ? chunk : chunk.subarray(0, bytesRead));
          if (position > end) {
            await close();
            controller.close();
          }
        } catch (error) {
          await close();
          controller.error(error);
        }
      },
      cancel: close,
    },
    { highWaterMark: 2 },
  );
}
