import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { classicFixture, samplePackets } from "../format/fixtures.js";
import { PcapFormatError } from "../types.js";
import { probeCaptureFile } from "./catalogue.js";
import { isFileFailure, reasonOf } from "./file-failure.js";
import { MAX_STORE_DEPTH, type StoreListing, walkStoreDir } from "./store-walk.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pcapfleet-store-walk-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const emptyListing = (): StoreListing => ({ dirs: [], files: [], skipped: [] });

describe.each([
  ["through the thread pool", false],
  ["with synchronous calls", true],
])("walkStoreDir %s", (_flavour, sync) => {
  it("lists directories with their level and regular files of 4+ bytes with their identity", async () => {
    await mkdir(join(dir, "sub", "deeper"), { recursive: true });
    await writeFile(join(dir, "b.pcap"), "abcdef");
    await writeFile(join(dir, "a.pcap"), "abcd");
    await writeFile(join(dir, "tiny"), "abc");
    await writeFile(join(dir, "sub", "deeper", "c.pcap"), "abcdefgh");
    const out = emptyListing();
    await walkStoreDir(dir, 0, out, new Set(), sync);
    expect(out.dirs).toEqual([
      { path: dir, depth: 0 },
      { path: join(dir, "sub"), depth: 1 },
      { path: join(dir, "sub", "deeper"), depth: 2 },
    ]);
    expect(out.files.map((f) => [f.path.slice(dir.length + 1), f.size])).toEqual([
      ["a.pcap", 4],
      ["b.pcap", 6],
      ["sub/deeper/c.pcap", 8],
    ]);
    expect(out.files[0]).toMatchObject({ mtimeMs: expect.any(Number), ino: expect.any(BigInt) });
    expect(out.skipped).toEqual([]);
  });

  it("follows a symlinked directory once, stops at MAX_STORE_DEPTH, and starts at any level", async () => {
    await mkdir(join(dir, "ring"));
    await writeFile(join(dir, "ring", "a.pcap"), "abcd");
    await symlink(join(dir, "ring"), join(dir, "ring", "loop"));
    const out = emptyListing();
    await walkStoreDir(dir, 0, out, new Set(), sync);
    expect(out.files.map((f) => f.path)).toEqual([join(dir, "ring", "a.pcap")]);

    const deep = emptyListing();
    await walkStoreDir(join(dir, "ring"), MAX_STORE_DEPTH, deep, new Set(), sync);
    expect(deep.dirs).toEqual([{ path: join(dir, "ring"), depth: MAX_STORE_DEPTH }]);
  });

  it("reports a directory it cannot list and passes over one that is gone", async () => {
    const file = join(dir, "plain");
    await writeFile(file, "x");
    const out = emptyListing();
    await walkStoreDir(file, 0, out, new Set(), sync);
    await walkStoreDir(join(dir, "gone"), 0, out, new Set(), sync);
    expect(out).toEqual({ dirs: [], files: [], skipped: [{ path: file, reason: "not a directory" }] });
  });
});

describe.each([
  ["through the thread pool", {}],
  ["with synchronous calls", { syncReads: true }],
])("probeCaptureFile %s", (_flavour, options) => {
  it("reads the header and first packet, and resolves undefined for what is no capture (any more)", async () => {
    const path = join(dir, "a.pcap");
    await writeFile(path, classicFixture(samplePackets(2, { startSec: 1_700_000_000 })));
    await writeFile(join(dir, "notes"), "not a capture");
    await mkdir(join(dir, "sub"));
    expect(await probeCaptureFile(path, options)).toMatchObject({
      path,
      format: "pcap",
      first: { sec: 1_700_000_000 },
    });
    expect(await probeCaptureFile(join(dir, "notes"), options)).toBeUndefined();
    expect(await probeCaptureFile(join(dir, "sub"), options)).toBeUndefined();
    expect(await probeCaptureFile(join(dir, "gone.pcap"), options)).toBeUndefined();
  });
});

describe("reasonOf and isFileFailure", () => {
  const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: boom`), { code });

  it("gives one line without the path", () => {
    expect(reasonOf(new PcapFormatError("/s/a.pcap", 24, "bad caplen"))).toBe("bad caplen at offset 24");
    expect(reasonOf(errno("EACCES"))).toBe("permission denied");
    expect(reasonOf(errno("ENOENT"))).toBe("does not exist");
    expect(reasonOf(errno("ENOTDIR"))).toBe("not a directory");
    expect(reasonOf(errno("EISDIR"))).toBe("is a directory");
    const io = new AppError(ErrorCode.StorageIo, "cannot read a.pcap", { cause: errno("EIO") });
    expect(reasonOf(io)).toBe("cannot read a.pcap (EIO: boom)");
    expect(reasonOf(new AppError(ErrorCode.StorageIo, "x", { cause: errno("EPERM") }))).toBe(
      "permission denied",
    );
    expect(reasonOf("odd")).toBe("odd");
  });

  it("ends one file for format and storage failures only", () => {
    expect(isFileFailure(new PcapFormatError("/s/a.pcap", 0, "bad"))).toBe(true);
    expect(isFileFailure(new AppError(ErrorCode.StorageIo, "io"))).toBe(true);
    expect(isFileFailure(new AppError(ErrorCode.NotFound, "gone"))).toBe(true);
    expect(isFileFailure(new AppError(ErrorCode.Cancelled, "stop"))).toBe(false);
    expect(isFileFailure(errno("EACCES"))).toBe(false);
  });
});
