/**
 * The Slice RPC over a real grpc-js server and client on loopback, against `sliceStore` to a
 * file (what `pcapfleet-agent slice` writes) and, for one case, tcpdump: bytes, chunking,
 * sha256, resume, caps, cancellation and deadlines stopping the reads, pins, backpressure, and
 * the error statuses.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { GrpcStatus } from "@pcapfleet/core";
import { type Instant, sliceStore } from "@pcapfleet/pcap";
import type { SliceDone, SliceRequestSchema } from "@pcapfleet/proto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type FixedCatalogue,
  fixedCatalogue,
  hostV4Of,
  indexRing,
  instant,
  ns,
  type ServedCapture,
  START,
  serviceSuite,
  waitFor,
  writeRing,
} from "./service.test-support.js";

const CHUNK = 64 * 1024;
const SMALL = {
  seed: 5,
  packets: 6000,
  ratePps: 500,
  vlanShare: 0.2,
  ipv6Share: 0.3,
  start: { sec: START, nsec: 0 },
};
/** The big ring: ~36 MB, for cancellation and backpressure. */
const BIG = { seed: 6, packets: 40_000, ratePps: 2000, start: { sec: START, nsec: 0 } };

const hostV4 = hostV4Of(SMALL, 2);

const suite = serviceSuite("pcapfleet-slice-rpc-");
let small: FixedCatalogue;
let big: FixedCatalogue;
let bigBytes = 0;
let served: ServedCapture;
let servedBig: ServedCapture;

beforeAll(async () => {
  const { work, stateDir } = suite;
  await writeRing(join(work, "small"), SMALL, 4);
  await writeRing(join(work, "big"), BIG, 3, ["nsec-le"]);
  await indexRing([join(work, "small"), join(work, "big")], stateDir);
  small = await fixedCatalogue([join(work, "small")]);
  big = await fixedCatalogue([join(work, "big")]);
  for (const file of big.files()) bigBytes += (await stat(file.path)).size;
  served = await suite.serve(small, { chunkBytes: CHUNK });
  servedBig = await suite.serve(big);
});

type Request = MessageInitShape<typeof SliceRequestSchema>;

interface Collected {
  readonly data: Buffer;
  readonly chunks: { sequence: bigint; offset: bigint; length: number }[];
  readonly done: SliceDone | undefined;
}

async function collect(target: ServedCapture, request: Request): Promise<Collected> {
  const parts: Buffer[] = [];
  const chunks: Collected["chunks"] = [];
  let done: SliceDone | undefined;
  for await (const message of target.client.slice(request).responses) {
    if (message.kind.case === "chunk") {
      const { sequence, offset, data } = message.kind.value;
      chunks.push({ sequence, offset, length: data.length });
      parts.push(Buffer.from(data));
    } else if (message.kind.case === "done") {
      done = message.kind.value;
    }
  }
  return { data: Buffer.concat(parts), chunks, done };
}

/** The status code and message of a failed call. */
async function failure(target: ServedCapture, request: Request): Promise<{ code: number; details: string }> {
  try {
    await collect(target, request);
  } catch (error) {
    const { code, details } = error as { code: number; details: string };
    return { code, details };
  }
  throw new Error("the call succeeded");
}

/** What `pcapfleet-agent slice` writes for the window and filter (sliceStore to a file). */
async function reference(
  catalogue: FixedCatalogue,
  from: bigint,
  to: bigint,
  filter: string,
  caps: { maxBytes?: number; maxPackets?: number } = {},
): Promise<{ bytes: Buffer; packets: number; truncated: boolean }> {
  const out = join(suite.work, `ref-${Math.random().toString(36).slice(2)}.pcap`);
  const result = await sliceStore({
    files: catalogue.files(),
    from: instant(from),
    to: instant(to),
    filter,
    stateDir: suite.stateDir,
    output: out,
    syncReads: true,
    ...caps,
  });
  const bytes = await readFile(out);
  await rm(out);
  return { bytes, packets: result.packets, truncated: result.truncated };
}

const CASES: readonly { name: string; from: bigint; to: bigint; filter: string }[] = [
  { name: "whole ring, no filter", from: ns(START - 5), to: ns(START + 100), filter: "" },
  {
    name: "middle window, tcp port 443",
    from: ns(START + 3, 250_000_000),
    to: ns(START + 9),
    filter: "tcp port 443",
  },
  { name: "host, whole ring (index narrows)", from: ns(START), to: ns(START + 60), filter: `host ${hostV4}` },
  {
    name: "udp or icmp6 in a short window",
    from: ns(START + 5),
    to: ns(START + 6, 1),
    filter: "udp or icmp6",
  },
  { name: "vlan and tcp", from: ns(START + 1), to: ns(START + 11), filter: "vlan and tcp" },
];

describe("Slice output", () => {
  it.each(CASES)("$name: byte-equal to the CLI slice, chunked and hashed", async ({ from, to, filter }) => {
    const expected = await reference(small, from, to, filter);
    const got = await collect(served, { taskId: "t1", window: { startNs: from, endNs: to }, filter });
    expect(got.data.equals(expected.bytes)).toBe(true);
    expect(got.done?.packets).toBe(BigInt(expected.packets));
    expect(got.done?.bytes).toBe(BigInt(expected.bytes.length));
    expect(got.done?.sha256).toBe(createHash("sha256").update(expected.bytes).digest("hex"));
    expect(got.done?.truncated).toBe(false);
    expect(got.done?.skippedFiles).toEqual([]);
    expect(got.chunks.map((c) => c.sequence)).toEqual(got.chunks.map((_, i) => BigInt(i)));
    let offset = 0n;
    for (const [i, chunk] of got.chunks.entries()) {
      expect(chunk.offset).toBe(offset);
      if (i < got.chunks.length - 1) expect(chunk.length).toBe(CHUNK);
      else expect(chunk.length).toBeGreaterThan(0);
      offset += BigInt(chunk.length);
    }
    expect(got.chunks.length).toBe(Math.ceil(expected.bytes.length / CHUNK));
  });

  it("equals mergecap + tcpdump for the window", async () => {
    // The slice suites' reference helpers (mergecap, then tcpdump -r, then the window).
    const helpers = join(import.meta.dirname, "../../../tests/slice/reference.ts");
    const ref = (await import(/* @vite-ignore */ helpers)) as ReferenceHelpers;
    const from = ns(START + 2, 500_000_000);
    const to = ns(START + 10);
    const got = await collect(served, { window: { startNs: from, endNs: to }, filter: "tcp or icmp6" });
    const tool = new ref.Reference(
      small.files().map((file) => file.path),
      suite.work,
    );
    const expected = ref.inWindow(await tool.matching("tcp or icmp6"), instant(from), instant(to));
    expect(expected.length).toBeGreaterThan(100);
    const records = await ref.readRecords(got.data);
    expect(records.map(ref.line)).toEqual(expected.map(ref.line));
  });

  it("uses 256 KiB chunks by default", async () => {
    const got = await collect(servedBig, { window: { startNs: ns(START), endNs: ns(START + 2) } });
    expect(got.chunks.length).toBeGreaterThan(2);
    expect(got.chunks.slice(0, -1).every((c) => c.length === 256 * 1024)).toBe(true);
  });
});

interface RecordLike {
  readonly tsSec: number;
  readonly tsNsec: number;
}
/** The part of tests/slice/reference.ts these tests use. */
interface ReferenceHelpers {
  Reference: new (
    files: readonly string[],
    work: string,
  ) => { matching(expression: string): Promise<RecordLike[]> };
  inWindow(records: readonly RecordLike[], from?: Instant, to?: Instant): RecordLike[];
  readRecords(bytes: Uint8Array): Promise<RecordLike[]>;
  line(record: RecordLike): string;
}

describe("resume and caps", () => {
  const window = { startNs: ns(START), endNs: ns(START + 60) };

  it("resumes at an offset in the middle: the tail, the same sha256 and size", async () => {
    const whole = await collect(served, { window, filter: "tcp" });
    const at = Math.floor(whole.data.length / 2) + 7;
    const tail = await collect(served, { window, filter: "tcp", resumeOffset: BigInt(at) });
    expect(tail.data.equals(whole.data.subarray(at))).toBe(true);
    expect(tail.chunks[0]?.offset).toBe(BigInt(at));
    expect(tail.chunks[0]?.sequence).toBe(0n);
    expect(tail.done?.sha256).toBe(whole.done?.sha256);
    expect(tail.done?.bytes).toBe(BigInt(whole.data.length));
    expect(tail.done?.packets).toBe(whole.done?.packets);
  });

  it("resumes at the end with no chunks, and refuses an offset past it", async () => {
    const whole = await collect(served, { window, filter: "udp" });
    const atEnd = await collect(served, { window, filter: "udp", resumeOffset: BigInt(whole.data.length) });
    expect(atEnd.chunks).toEqual([]);
    expect(atEnd.done?.sha256).toBe(whole.done?.sha256);
    const calls = small.pinCalls;
    const error = await failure(served, {
      window,
      filter: "udp",
      resumeOffset: BigInt(whole.data.length + 1),
    });
    expect(error.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(error.details).toMatch(/resume_offset .* beyond the end of the output/);
    // The failed call pinned its files and released them.
    expect(small.pinCalls).toBe(calls + 1);
    expect(small.pins.size).toBe(0);
  });

  it("stops at max_packets and max_bytes, flagged truncated, as the CLI does", async () => {
    const byPackets = await collect(served, { window, maxPackets: 10n });
    const expected = await reference(small, window.startNs, window.endNs, "", { maxPackets: 10 });
    expect(byPackets.data.equals(expected.bytes)).toBe(true);
    expect(byPackets.done?.packets).toBe(10n);
    expect(byPackets.done?.truncated).toBe(true);

    const byBytes = await collect(served, { window, maxBytes: 100_000n });
    const expectedBytes = await reference(small, window.startNs, window.endNs, "", { maxBytes: 100_000 });
    expect(byBytes.data.equals(expectedBytes.bytes)).toBe(true);
    expect(byBytes.data.length).toBeLessThanOrEqual(100_000);
    expect(byBytes.done?.truncated).toBe(true);
  });
});

describe("errors", () => {
  it("bad filter: INVALID_ARGUMENT with libpcap's message, nothing pinned", async () => {
    const calls = small.pinCalls;
    const error = await failure(served, {
      window: { startNs: ns(START), endNs: ns(START + 1) },
      filter: "tcp port",
    });
    expect(error.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(error.details).toMatch(/^bad filter 'tcp port': .*syntax error/);
    expect(small.pinCalls).toBe(calls);
  });

  it("bad window: INVALID_ARGUMENT", async () => {
    const same = await failure(served, { window: { startNs: ns(START + 1), endNs: ns(START + 1) } });
    expect(same.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(same.details).toMatch(/bad window: end .* is not after start/);
    const missing = await failure(served, {});
    expect(missing.code).toBe(GrpcStatus.INVALID_ARGUMENT);
  });

  it.each([
    ["before the ring", ns(START - 1000), ns(START - 900)],
    ["after the ring", ns(START + 3600), ns(START + 3700)],
  ])("window %s: NOT_FOUND 'no data in range' with the store's range, at once", async (_name, from, to) => {
    const started = Date.now();
    const error = await failure(served, { window: { startNs: from, endNs: to } });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error.code).toBe(GrpcStatus.NOT_FOUND);
    expect(error.details).toMatch(
      /^no data in range .*: the store holds 2023-11-14T22:13:20\.000000000Z – 2023-11-14T22:13:3\d\.\d{9}Z$/,
    );
  });
});

/** Bytes this process has read through read syscalls so far (page cache included). */
function readChars(): number {
  const match = /^rchar:\s*(\d+)$/m.exec(readFileSync("/proc/self/io", "utf8"));
  return Number(match?.[1] ?? Number.NaN);
}

describe("cancellation, deadlines, pins and backpressure", () => {
  const window = { startNs: ns(START), endNs: ns(START + 100) };

  it("a cancel after the first chunk stops the reads and releases pins and the task", async () => {
    expect(bigBytes).toBeGreaterThan(30_000_000);
    // The measure sees the slice's reads (libuv's threads are threads of this process).
    const whole = readChars();
    const full = await collect(servedBig, { window: { startNs: ns(START), endNs: ns(START + 6) } });
    expect(readChars() - whole).toBeGreaterThan(full.data.length);
    const controller = new AbortController();
    const call = servedBig.client.slice({ taskId: "cancel-me", window }, { signal: controller.signal });
    const iterator = call.responses[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value?.kind.case).toBe("chunk");
    expect(big.pins.size).toBe(big.files().length);
    expect(servedBig.tasks.list().map((task) => task.taskId)).toEqual(["cancel-me"]);
    const before = readChars();
    controller.abort();
    await expect(iterator.next()).rejects.toMatchObject({ code: GrpcStatus.CANCELLED });
    expect(await waitFor(() => big.pins.size === 0 && servedBig.tasks.list().length === 0)).toBe(true);
    // Reads after the cancel: what was in flight, nowhere near the rest of the ring.
    expect(readChars() - before).toBeLessThan(8 * 1024 * 1024);
    const ended = servedBig.logs.find(
      (line) => line["msg"] === "slice ended" && line["taskId"] === "cancel-me",
    );
    expect(ended?.["outcome"]).toBe("cancelled");
  });

  it("a deadline ends a stalled call with DEADLINE_EXCEEDED and releases everything", async () => {
    const call = servedBig.client.slice({ taskId: "deadline", window }, { deadline: Date.now() + 300 });
    const iterator = call.responses[Symbol.asyncIterator]();
    await iterator.next();
    // The reader stalls; the deadline passes.
    await new Promise((resolve) => setTimeout(resolve, 400));
    let code: number | undefined;
    try {
      while (!(await iterator.next()).done) {
        // Drain what was buffered before the deadline.
      }
    } catch (error) {
      code = (error as { code: number }).code;
    }
    expect(code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    expect(await waitFor(() => big.pins.size === 0 && servedBig.tasks.list().length === 0)).toBe(true);
  });

  it("a slow reader slows the slice: output never runs far ahead of what was received", async () => {
    let received = 0;
    let worst = 0;
    let chunks = 0;
    let produced = 0;
    for await (const message of servedBig.client.slice({ taskId: "slow", window }).responses) {
      if (message.kind.case !== "chunk") break;
      received += message.kind.value.data.length;
      const task = servedBig.tasks.list()[0];
      produced = Math.max(produced, Number(task?.bytesDone ?? 0n));
      worst = Math.max(worst, Number(task?.bytesDone ?? 0n) - received);
      if (++chunks === 60) break;
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    // 60 chunks of 256 KiB were read in ~0.25 s; unthrottled, the slice would have written the
    // whole 36 MB by then. The chunk queue, grpc-js, the 4 MiB HTTP/2 windows and the loopback
    // socket buffers hold about 10 MiB between them.
    expect(received).toBe(60 * 256 * 1024);
    expect(worst).toBeLessThan(16 * 1024 * 1024);
    // Progress was seen (else the bound above says nothing).
    expect(produced).toBeGreaterThan(4 * 1024 * 1024);
    expect(await waitFor(() => big.pins.size === 0 && servedBig.tasks.list().length === 0)).toBe(true);
  });
});
