/**
 * Compiles tcpdump filter expressions to classic BPF with libpcap itself, by running
 * `tcpdump -r HEADER.pcap -ddd -- EXPR` on a header-only capture of the wanted link type.
 * Reading a file (not `-y DLT` on a live device) is what makes the program the one
 * `tcpdump -r ring.pcap EXPR` applies: live Linux captures test VLAN tags through
 * ancillary loads, files test the bytes.
 */
import type { ExecFileException } from "node:child_process";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { endianness, tmpdir } from "node:os";
import { join } from "node:path";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { FilterError, MAX_CAPLEN } from "../types.js";
import { acceptAllProgram, type BpfProgram, parseBpfDump } from "./bpf.js";
import { openProgramCache, type ProgramCache } from "./program-cache.js";

/** Options of {@link createFilterCompiler}. */
export interface FilterCompilerOptions {
  /** tcpdump binary: a path, or a name looked up in PATH. */
  readonly tcpdump: string;
  /** Directory for the header-only captures; a fresh temporary directory when omitted. */
  readonly workDir: string;
  /** How long one tcpdump run may take (host names in filters are resolved by DNS). */
  readonly timeoutMs: number;
  /** Compiled programs kept in memory, least recently compiled dropped first. */
  readonly cacheSize: number;
  /**
   * Directory of programs kept on disk between processes (see program-cache.ts), or "" for none
   * (the default). Entries are checked against the tcpdump binary and libpcap before use.
   */
  readonly cacheDir: string;
}

/**
 * Byte order of the capture file the filter will run on. libpcap compiles some link types
 * differently for a file in the other byte order than the host (LINKTYPE_NULL: the address
 * family is host-order on the capturing machine). Default: this host's (`os.endianness()`).
 */
export type ByteOrder = "LE" | "BE";

/** Compiles expressions for one process; programs are cached per capture format and expression. */
export interface FilterCompiler {
  /**
   * Compiles `expression` as `tcpdump -r` would for a capture of `linkType`, `snaplen`
   * (default MAX_CAPLEN) and `byteOrder`.
   */
  compile(expression: string, linkType: number, snaplen?: number, byteOrder?: ByteOrder): Promise<BpfProgram>;
  /** Same, blocking (for CLIs that have nothing else to do). */
  compileSync(expression: string, linkType: number, snaplen?: number, byteOrder?: ByteOrder): BpfProgram;
  /** Removes the header captures written in a directory this compiler created. */
  close(): void;
}

const defaults: FilterCompilerOptions = {
  tcpdump: "tcpdump",
  workDir: "",
  timeoutMs: 10_000,
  cacheSize: 1024,
  cacheDir: "",
};

/**
 * `node:child_process`, taken on the first run of tcpdump: a process whose programs all come
 * from the disk cache never loads it (a few ms of a CLI's start-up, ADR 0012).
 */
const childProcess = () => process.getBuiltinModule("node:child_process");

/** Creates a compiler that runs tcpdump; it touches the disk only on the first compile. */
export function createFilterCompiler(options: Partial<FilterCompilerOptions> = {}): FilterCompiler {
  const config: FilterCompilerOptions = { ...defaults, ...options };
  const programs = new Map<string, BpfProgram>();
  const pending = new Map<string, Promise<BpfProgram>>();
  const headers = new Map<string, string>();
  let dir = config.workDir;
  const ownsDir = dir === "";
  const disk: ProgramCache | null =
    config.cacheDir === "" ? null : openProgramCache(config.cacheDir, config.tcpdump);

  /** The program stored on disk for `key`, when there is a valid one. */
  const stored = (key: string): BpfProgram | undefined => {
    const dump = disk?.get(key);
    if (dump === undefined) return undefined;
    try {
      return remember(key, parseBpfDump(dump));
    } catch {
      return undefined;
    }
  };

  /** A program tcpdump printed: kept in memory and on disk. */
  const compiled = (key: string, dump: string): BpfProgram => {
    const program = remember(key, parseBpfDump(dump));
    disk?.put(key, dump);
    return program;
  };

  const remember = (key: string, program: BpfProgram): BpfProgram => {
    programs.set(key, program);
    if (programs.size > config.cacheSize) {
      const oldest = programs.keys().next();
      if (!oldest.done) programs.delete(oldest.value);
    }
    return program;
  };

  /** Path of the header-only capture for a format, written once. */
  const headerFile = ({ linkType, snaplen, byteOrder }: CaptureFormat): string => {
    const name = `linktype-${linkType}-snaplen-${snaplen}-${byteOrder.toLowerCase()}.pcap`;
    const known = headers.get(name);
    if (known !== undefined) return known;
    if (dir === "") dir = mkdtempSync(join(tmpdir(), "pcapfleet-filter-"));
    else mkdirSync(dir, { recursive: true });
    const path = join(dir, name);
    // Write aside and rename, so a concurrent tcpdump never sees a half-written header.
    const temp = `${path}.${process.pid}.${headers.size}.tmp`;
    writeFileSync(temp, pcapHeader(linkType, snaplen, byteOrder));
    renameSync(temp, path);
    headers.set(name, path);
    return path;
  };

  const prepare = (expression: string, format: CaptureFormat) => {
    const { linkType, snaplen, byteOrder } = format;
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff_ffff) {
      throw new FilterError(expression, `invalid link type ${linkType}`);
    }
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > MAX_CAPLEN) {
      throw new FilterError(expression, `invalid snaplen ${snaplen}`);
    }
    // argv cannot carry NUL; libpcap would stop reading there anyway.
    if (expression.includes("\0")) throw new FilterError(expression, "expression contains a NUL character");
    if (byteOrder !== "LE" && byteOrder !== "BE")
      throw new FilterError(expression, `invalid byte order ${byteOrder}`);
    return { key: `${linkType}/${snaplen}/${byteOrder}/${expression}`, empty: expression.trim() === "" };
  };

  const argv = (expression: string, format: CaptureFormat): string[] => [
    "-r",
    headerFile(format),
    "-ddd",
    "--",
    expression,
  ];

  return {
    async compile(expression, linkType, snaplen = MAX_CAPLEN, byteOrder = endianness()) {
      const format = { linkType, snaplen, byteOrder };
      const { key, empty } = prepare(expression, format);
      if (empty) return acceptAllProgram(snaplen);
      const cached = programs.get(key);
      if (cached !== undefined) return cached;
      const inFlight = pending.get(key);
      if (inFlight !== undefined) return inFlight;
      const fromDisk = stored(key);
      if (fromDisk !== undefined) return fromDisk;
      const run = new Promise<BpfProgram>((resolve, reject) => {
        const args = argv(expression, format);
        childProcess().execFile(
          config.tcpdump,
          args,
          { timeout: config.timeoutMs, encoding: "utf8", maxBuffer: 64 << 20 },
          (error: ExecFileException | null, stdout: string, stderr: string) => {
            if (error) return reject(toError(expression, error, stderr, config));
            try {
              resolve(compiled(key, stdout));
            } catch (parseError) {
              reject(AppError.from(parseError));
            }
          },
        );
      }).finally(() => pending.delete(key));
      pending.set(key, run);
      return run;
    },

    compileSync(expression, linkType, snaplen = MAX_CAPLEN, byteOrder = endianness()) {
      const format = { linkType, snaplen, byteOrder };
      const { key, empty } = prepare(expression, format);
      if (empty) return acceptAllProgram(snaplen);
      const cached = programs.get(key) ?? stored(key);
      if (cached !== undefined) return cached;
      try {
        const stdout = childProcess().execFileSync(config.tcpdump, argv(expression, format), {
          timeout: config.timeoutMs,
          encoding: "utf8",
          maxBuffer: 64 << 20,
          stdio: ["ignore", "pipe", "pipe"],
        });
        return compiled(key, stdout);
      } catch (error) {
        const stderr = (error as { stderr?: unknown }).stderr;
        throw toError(expression, error, typeof stderr === "string" ? stderr : "", config);
      }
    },

    close() {
      if (ownsDir && dir !== "") rmSync(dir, { recursive: true, force: true });
      dir = ownsDir ? "" : dir;
      headers.clear();
    },
  };
}

/** What libpcap looks at in a capture's header when it compiles a filter for it. */
interface CaptureFormat {
  readonly linkType: number;
  readonly snaplen: number;
  readonly byteOrder: ByteOrder;
}

/** Classic pcap global header (microseconds) with `linkType`, `snaplen` and `byteOrder`. */
export function pcapHeader(linkType: number, snaplen: number, byteOrder: ByteOrder): Buffer {
  const header = Buffer.alloc(24);
  const u32 = (value: number, at: number) =>
    byteOrder === "LE" ? header.writeUInt32LE(value, at) : header.writeUInt32BE(value, at);
  const u16 = (value: number, at: number) =>
    byteOrder === "LE" ? header.writeUInt16LE(value, at) : header.writeUInt16BE(value, at);
  u32(0xa1b2c3d4, 0);
  u16(2, 4);
  u16(4, 6);
  u32(snaplen, 16);
  u32(linkType, 20);
  return header;
}

/** Maps a failed tcpdump run to FilterError (libpcap's message) or an AppError. */
function toError(expression: string, error: unknown, stderr: string, config: FilterCompilerOptions): Error {
  const failure = error as { code?: unknown; killed?: boolean; signal?: unknown };
  if (failure.code === "ENOENT") {
    return new AppError(
      ErrorCode.Unavailable,
      `tcpdump (libpcap) is required to compile filters, and '${config.tcpdump}' was not found`,
      { cause: error },
    );
  }
  if (failure.killed === true || failure.code === "ETIMEDOUT") {
    return new AppError(
      ErrorCode.Timeout,
      `tcpdump did not compile filter '${clip(expression)}' within ${config.timeoutMs} ms`,
      { cause: error },
    );
  }
  const message = libpcapMessage(stderr);
  // tcpdump prints its "reading from file" banner once the capture is open: an error after
  // it is libpcap refusing the expression (or the link type); before it, a broken setup.
  if (stderr.includes("reading from file") && message !== "") {
    return new FilterError(expression, message, { cause: error });
  }
  return new AppError(
    ErrorCode.Internal,
    `tcpdump failed compiling '${clip(expression)}': ${message || String(error)}`,
    {
      cause: error,
    },
  );
}

/** An expression shortened for a message. */
function clip(expression: string): string {
  return expression.length > 120 ? `${expression.slice(0, 117)}...` : expression;
}

/** libpcap's complaint from tcpdump's stderr, without the banner line and "tcpdump: " prefix. */
export function libpcapMessage(stderr: string): string {
  return stderr
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("reading from file"))
    .map((line) => line.replace(/^tcpdump: /, ""))
    .join("; ");
}
