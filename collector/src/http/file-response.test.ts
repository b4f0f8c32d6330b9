import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileResponse } from "./file-response.js";

describe("file downloads", () => {
  let dir: string;
  let path: string;
  // Several read chunks and a short last one.
  const bytes = randomBytes(3 * 1024 * 1024 + 12345);
  const file = () => ({
    path,
    sha256: "abc",
    filename: "job.pcap",
    contentType: "application/vnd.tcpdump.pcap",
  });
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pf-file-response-"));
    path = join(dir, "result.pcap");
    await writeFile(path, bytes);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("streams the whole file with its length", async () => {
    const response = await fileResponse(new Request("http://x/"), file());
    expect(response.status).toBe(200);
    expect(response.headers.get("content-length")).toBe(String(bytes.length));
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("streams a range across read chunks", async () => {
    const request = new Request("http://x/", { headers: { range: "bytes=1000000-2500000" } });
    const response = await fileResponse(request, file());
    expect(response.status).toBe(206);
    expect(response.headers.get("content-range")).toBe(`bytes 1000000-2500000/${bytes.length}`);
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes.subarray(1000000, 2500001))).toBe(true);
  });

  it("ends a body cancelled by the client without reading the rest", async () => {
    const response = await fileResponse(new Request("http://x/"), file());
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(first.value?.length).toBe(1024 * 1024);
    await reader.cancel();
  });
});
