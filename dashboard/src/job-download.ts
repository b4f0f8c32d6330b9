/**
 * Saving a job's PCAP from the page. The download endpoints need the session's bearer token,
 * so a plain `<a href>` cannot fetch them (and a token in the URL would land in logs and
 * history). The page fetches with the token and then:
 *
 * - where the File System Access API exists (Chromium browsers), asks where to save and streams
 *   the body straight to that file: memory stays flat however large the capture is;
 * - elsewhere (Firefox, Safari), collects the body into a Blob and saves it through an object
 *   URL and `<a download>`. The browser holds the whole file until it is saved, which is fine
 *   for the usual capture and the only way without a service worker.
 *
 * Alternatives left out: a service worker that turns the stream into a navigation download
 * (StreamSaver-style) adds a worker to the bundle for the browsers the fallback already serves;
 * a short-lived download ticket in the URL would let the browser's own download manager resume,
 * but needs a collector endpoint that does not exist yet.
 */
import type { ApiClient } from "./api-client.js";

/** How a download was saved. */
export type SaveMethod = "file-system" | "blob";

/** A saved download. */
export interface SavedDownload {
  readonly filename: string;
  readonly bytes: number;
  readonly method: SaveMethod;
}

/** `(received, total)` while saving; `total` is null without a Content-Length. */
export type DownloadProgress = (received: number, total: number | null) => void;

// Not in TypeScript's DOM library: the File System Access picker exists in Chromium only.
type SaveFilePicker = (options: {
  suggestedName: string;
  types?: { description: string; accept: Record<string, string[]> }[];
}) => Promise<FileSystemFileHandle>;

/**
 * The file name of a `Content-Disposition` header (`filename*=UTF-8''…` preferred over
 * `filename="…"`), without any directory part; `fallback` when it names none.
 */
export function filenameFromDisposition(header: string | null, fallback: string): string {
  if (header === null) return fallback;
  let name: string | undefined;
  const extended = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header);
  if (extended?.[2] !== undefined) {
    try {
      name = decodeURIComponent(extended[2].trim());
    } catch {
      name = undefined;
    }
  }
  if (name === undefined) {
    const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/i.exec(header);
    name = plain?.[1]?.replace(/\\(.)/g, "$1") ?? plain?.[2]?.trim();
  }
  const base = name?.split(/[/\\]/).pop()?.trim();
  return base === undefined || base === "" || base === "." || base === ".." ? fallback : base;
}

/** The body of `response` with `onProgress` told of every chunk, and the count at the end. */
function counted(
  response: Response,
  onProgress: DownloadProgress | undefined,
): { stream: ReadableStream<Uint8Array>; total: () => number } {
  const length = Number(response.headers.get("content-length"));
  const expected = Number.isFinite(length) && length > 0 ? length : null;
  let received = 0;
  const body = response.body ?? new Blob([]).stream();
  const stream = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        received += chunk.byteLength;
        onProgress?.(received, expected);
        controller.enqueue(chunk);
      },
    }),
  );
  return { stream, total: () => received };
}

/** Saves a Blob under `filename` through an object URL and a clicked `<a download>`. */
function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.style.display = "none";
  document.body.append(link);
  link.click();
  link.remove();
  // Revoked later, not at once: the browser starts reading the URL after this task ends.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * Fetches `path` (under `/api/v1`) with the session and saves it, as the module comment says.
 * Call it from a click handler: the save dialog needs the user's gesture, which lasts a few
 * seconds, and the response headers (for the file name) come first. Resolves to null when the
 * user cancels the dialog; rejects with the API's error when the download is refused.
 */
export async function saveDownload(
  api: ApiClient,
  path: string,
  fallbackName: string,
  onProgress?: DownloadProgress,
): Promise<SavedDownload | null> {
  const response = await api.download(path);
  const filename = filenameFromDisposition(response.headers.get("content-disposition"), fallbackName);
  const picker = (window as unknown as { showSaveFilePicker?: SaveFilePicker }).showSaveFilePicker;
  if (picker !== undefined) {
    let handle: FileSystemFileHandle | undefined;
    try {
      const ext = filename.endsWith(".pcapng") ? ".pcapng" : ".pcap";
      const type = ext === ".pcapng" ? "application/x-pcapng" : "application/vnd.tcpdump.pcap";
      handle = await picker.call(window, {
        suggestedName: filename,
        types: [{ description: "Packet capture", accept: { [type]: [ext] } }],
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") {
        await response.body?.cancel().catch(() => undefined);
        return null;
      }
      // Anything else (the gesture expired while the headers came, a policy forbids it): the
      // Blob way still works.
    }
    if (handle !== undefined) {
      const { stream, total } = counted(response, onProgress);
      await stream.pipeTo(await handle.createWritable());
      return { filename: handle.name, bytes: total(), method: "file-system" };
    }
  }
  const { stream, total } = counted(response, onProgress);
  const type = response.headers.get("content-type") ?? "application/octet-stream";
  const blob = await new Response(stream, { headers: { "content-type": type } }).blob();
  saveBlob(blob, filename);
  return { filename, bytes: total(), method: "blob" };
}
