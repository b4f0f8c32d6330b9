// gRPC slice benchmark (issue #4, item 7): the agent's CaptureService/Slice over loopback, on the
// cached 2 GB bench ring, against the 1 GB/s target and against tcpdump over the same files.
// Every server runs in its own process (this file run with `--serve MODE ...`, code from dist/:
// run `node scripts/build.mjs` first), so server and client do not share an event loop, as in
// production where the collector reads from another host. Three layers, each a floor for the next:
//   1. raw grpc-js: a server stream of pre-built Buffers (serialize = identity), 64/128/256 KiB;
//   2. the proto adapter (bindService/createClient, SliceResponse codec) streaming ready-made
//      chunks, with the fast Slice codec and with protobuf-es's generic one (the "before");
//   3. the full Slice: `tcp port 443` and no filter, whole ring, the client reading every chunk.
// Besides GB/s (which on a shared 2-core host mostly says how much CPU the runs were given), each
// row has the CPU seconds per GB of each process: 1 / max(server, client) is what one core each
// would reach, a figure the load moves much less. The full Slice runs in a worker thread of the
// server, so its rows also split the server's CPU by thread (/proc/PID/task): main thread and
// slice worker, and 1 / max(main thread, worker, client) is what one core per thread would reach.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createReadStream, readdirSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadNote, median, outputDir, runOnce, sha256CpuPerGb, warmCache } from "./lib/measure.mjs";
import { BENCH_DIR, ensureRing } from "./lib/ring.mjs";
import { agentSlice, ensureIndexes, tcpdumpPerFile } from "./lib/slice-tools.mjs";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..");
/** Timed runs per full-slice case (after one warm-up); BENCH_RUNS overrides. No filter moves 2 GB. */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Bytes per floor/adapter run, and runs per row (medians). */
const FLOOR_BYTES = Number(process.env.BENCH_FLOOR_BYTES ?? 5e8);
const FLOOR_RUNS = Number(process.env.BENCH_FLOOR_RUNS ?? 3);
/** Issue #4: slice throughput over gRPC on loopback. */
const TARGET_GBPS = 1;
/** The whole ring: [0, year 2096). */
const WHOLE = { startNs: 0n, endNs: 4_000_000_000n * 1_000_000_000n };
const KIB = 1024;

const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const dist = (path) => pathToFileURL(join(root, path)).href;
const identity = (bytes) => bytes;
/** A raw grpc-js server-streaming method whose messages are Buffers as they are. */
const RAW = {
  stream: {
    path: "/bench.Raw/Stream",
    requestStream: false,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/**
 * Server side (`node grpc-slice.bench.mjs --serve MODE CHUNK [STORE STATE]`): prints `PORT n`;
 * answers each `cpu` line on stdin with `CPU {"total": s, "threads": {tid: s}}` (its CPU time so
 * far, and per thread: the main thread's id is the pid); exits when stdin ends.
 * MODE: raw (pre-built Buffers), fast / generic (ready-made chunks through the adapter with the
 * fast or the protobuf-es codec), slice (the agent's CaptureService on STORE; slice-generic: with
 * the protobuf-es codec).
 */
async function serve(mode, chunkBytes, store, state) {
  const grpc = await import("@grpc/grpc-js");
  const { createLogger } = await import(dist("core/dist/index.js"));
  const proto = await import(dist("proto/dist/index.js"));
  const log = createLogger({ name: "bench-agent", level: "warn", destination: process.stderr });
  const buffers = [Buffer.alloc(chunkBytes, 1), Buffer.alloc(chunkBytes, 2)];
  let port;
  if (mode === "raw") {
    const server = new grpc.Server();
    server.addService(RAW, {
      stream: async (call) => {
        const total = Number(call.request.toString());
        for (let sent = 0, i = 0; sent < total; sent += chunkBytes, i++) {
          if (!call.write(buffers[i & 1])) await once(call, "drain");
        }
        call.end();
      },
    });
    port = await proto.listen(server, "127.0.0.1:0");
  } else {
    let service;
    if (mode.startsWith("slice")) {
      const { scanStores } = await import(dist("pcap/dist/index.js"));
      const { createCaptureService } = await import(dist("agent/dist/service/capture-service.js"));
      const { createBusyTasks } = await import(dist("agent/dist/tasks/busy-tasks.js"));
      const { files } = await scanStores([store]);
      service = createCaptureService({
        // A fixed catalogue: the ring does not rotate during the benchmark.
        catalogue: { files: () => files, pin: () => () => undefined },
        stateDir: state,
        status: async () => ({}),
        tasks: createBusyTasks(),
        log,
        chunkBytes,
      });
    } else {
      service = {
        getStatus: async () => ({}),
        estimate: async () => ({}),
        // Ready-made chunks: max_bytes is the total to send.
        async *slice(request) {
          let offset = 0;
          for (let sequence = 0n; offset < Number(request.maxBytes); sequence++) {
            const data = buffers[Number(sequence & 1n)];
            yield { kind: { case: "chunk", value: { sequence, offset: BigInt(offset), data } } };
            offset += data.length;
          }
          yield { kind: { case: "done", value: { bytes: BigInt(offset) } } };
        },
      };
    }
    const codecs = mode.endsWith("generic") ? new Map() : proto.defaultCodecs;
    const server = proto.createGrpcServer({
      log,
      services: [proto.bindService(proto.CaptureService, service, codecs)],
    });
    port = await proto.listen(server.server, "127.0.0.1:0");
  }
  process.stdout.write(`PORT ${port}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === "cpu") {
      const { user, system } = process.cpuUsage();
      process.stdout.write(`CPU ${JSON.stringify({ total: (user + system) / 1e6, threads: threadCpu() })}\n`);
    }
  }
  process.exit(0);
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux builds). */
const USER_HZ = 100;

/**
 * CPU seconds (user + system) of each thread of this process, by thread id, from
 * /proc/self/task: the slice worker, grpc-js and GC helpers are threads of the server process,
 * and which one is busiest says what a core per thread would allow. Empty off Linux.
 */
function threadCpu() {
  const threads = {};
  try {
    for (const tid of readdirSync("/proc/self/task")) {
      try {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
        // Fields after the command name (which may hold spaces): utime and stime are 12th and 13th.
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        threads[tid] = (Number(fields[11]) + Number(fields[12])) / USER_HZ;
      } catch {
        // The thread ended meanwhile.
      }
    }
  } catch {
    // No /proc.
  }
  return threads;
}

/** Starts a server process; resolves to `{ port, pid, cpu(): Promise<{total, threads}>, stop() }`. */
function startServer(mode, chunkBytes, store = "", state = "") {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [self, "--serve", mode, String(chunkBytes), store, state], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (prefix) => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) throw new Error(`bench server (${mode}) exited`);
      if (value.startsWith(prefix)) return value.slice(prefix.length);
    }
  };
  return next("PORT ").then((port) => ({
    port: Number(port),
    pid: child.pid,
    cpu: async () => {
      child.stdin.write("cpu\n");
      return JSON.parse(await next("CPU "));
    },
    stop: () => {
      const exited = once(child, "exit");
      child.stdin.end();
      return exited;
    },
  }));
}

/** Peak RSS (VmHWM) of a process in bytes. */
function peakRss(pid) {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
  } catch {
    return Number.NaN;
  }
}

/**
 * Times `run()` (resolving to bytes moved) and the CPU both processes spent on it; for the
 * server also its main thread's share and its busiest other thread's (a slice's worker).
 */
async function measured(server, run) {
  const serverBefore = await server.cpu();
  const clientBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const result = await run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const client = process.cpuUsage(clientBefore);
  const serverAfter = await server.cpu();
  const gb = result.bytes / 1e9;
  const main = String(server.pid);
  let other = 0;
  for (const [tid, cpu] of Object.entries(serverAfter.threads)) {
    if (tid !== main) other = Math.max(other, cpu - (serverBefore.threads[tid] ?? 0));
  }
  const mainCpu = (serverAfter.threads[main] ?? Number.NaN) - (serverBefore.threads[main] ?? Number.NaN);
  return {
    ...result,
    seconds,
    gbps: gb / seconds,
    serverCpuPerGb: (serverAfter.total - serverBefore.total) / gb,
    serverMainCpuPerGb: mainCpu / gb,
    serverOtherCpuPerGb: other / gb,
    clientCpuPerGb: (client.user + client.system) / 1e6 / gb,
  };
}

/** Client channel options: those createChannel uses, so the bench measures what callers get. */
function channelFor(proto, port) {
  return proto.createChannel(`127.0.0.1:${port}`);
}

/** One raw grpc-js stream of `total` bytes, read to the end. */
async function rawOnce(grpc, port, total) {
  const { channelDefaults } = await import(dist("proto/dist/index.js"));
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), channelDefaults);
  try {
    let bytes = 0;
    const call = client.makeServerStreamRequest(
      RAW.stream.path,
      identity,
      identity,
      Buffer.from(String(total)),
    );
    for await (const message of call) bytes += message.length;
    return { bytes };
  } finally {
    client.close();
  }
}

/** One Slice call read to the end: bytes received, chunks, the done message, SHA-256 if asked. */
async function sliceOnce(client, request, hash) {
  const digest = hash ? createHash("sha256") : null;
  let bytes = 0;
  let chunks = 0;
  let done;
  for await (const message of client.slice(request).responses) {
    if (message.kind.case === "chunk") {
      bytes += message.kind.value.data.length;
      chunks++;
      digest?.update(message.kind.value.data);
    } else if (message.kind.case === "done") {
      done = message.kind.value;
    }
  }
  return { bytes, chunks, done, sha256: digest?.digest("hex") };
}

/** SHA-256 of a file (streamed: the no-filter output is larger than a Buffer may be). */
async function fileSha(path) {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk);
  return hash.digest("hex");
}

/** Layers 1 and 2: raw grpc-js and the adapter, per message size; medians of FLOOR_RUNS runs. */
async function floors(log) {
  const grpc = await import("@grpc/grpc-js");
  const proto = await import(dist("proto/dist/index.js"));
  const rows = [];
  for (const size of [64 * KIB, 128 * KIB, 256 * KIB]) {
    for (const mode of ["raw", "fast", "generic"]) {
      const server = await startServer(mode, size);
      const channel = channelFor(proto, server.port);
      const client = proto.createClient(proto.CaptureService, channel);
      const once = (bytes) =>
        mode === "raw"
          ? rawOnce(grpc, server.port, bytes)
          : sliceOnce(client, { maxBytes: BigInt(bytes) }, false);
      try {
        await once(size * 8); // connection and JIT warm-up
        const runs = [];
        for (let i = 0; i < FLOOR_RUNS; i++) runs.push(await measured(server, () => once(FLOOR_BYTES)));
        const run = {
          gbps: median(runs.map((r) => r.gbps)),
          serverCpuPerGb: median(runs.map((r) => r.serverCpuPerGb)),
          clientCpuPerGb: median(runs.map((r) => r.clientCpuPerGb)),
        };
        rows.push({ size, mode, ...run });
        log(
          `${mode} ${size / KIB} KiB: ${fmt(run.gbps)} GB/s, CPU s/GB server ${fmt(run.serverCpuPerGb)} client ${fmt(run.clientCpuPerGb)}`,
        );
      } finally {
        channel.close();
        await server.stop();
      }
    }
  }
  return rows;
}

/** The benchmark module: see the file comment. Returns its Markdown section. */
export default async function grpcSliceBench({ log }) {
  const ring = await ensureRing({}, log);
  const files = ring.files.map((f) => f.path);
  const state = join(BENCH_DIR, `state-${basename(ring.dir)}`);
  log(ensureIndexes([ring.dir], state));
  const loadBefore = loadNote();
  const floorRows = await floors(log);
  warmCache(files);
  const out = outputDir(ring.bytes * 2, join(BENCH_DIR, "out"));
  const proto = await import(dist("proto/dist/index.js"));
  const chunkBytes = Number(process.env.BENCH_CHUNK ?? 256 * KIB);
  const server = await startServer("slice", chunkBytes, ring.dir, state);
  const channel = channelFor(proto, server.port);
  const client = proto.createClient(proto.CaptureService, channel);
  const rows = [];
  try {
    for (const filter of ["tcp port 443", ""]) {
      const label = filter === "" ? "no filter (whole ring)" : `\`${filter}\``;
      const request = { taskId: "bench", window: WHOLE, filter };
      // Correctness first (hashing on the client costs time, so this run is not timed).
      const checked = await sliceOnce(client, request, true);
      const cliOut = join(out, "grpc-bench-cli.pcap");
      const cli = agentSlice("cli", { stores: [ring.dir], filter, state, out: cliOut });
      await runOnce(cli.command, cli.args);
      const same = checked.sha256 === (await fileSha(cliOut)) && checked.sha256 === checked.done?.sha256;
      rmSync(cliOut, { force: true });
      const runs = [];
      const tcpWalls = [];
      const tcpOut = join(out, "grpc-bench-tcpdump");
      const tcpdump = tcpdumpPerFile("tcpdump", files, filter, tcpOut);
      for (let round = -1; round < RUNS; round++) {
        const run = await measured(server, () => sliceOnce(client, request, false));
        await tcpdump.before();
        const tcp = await runOnce(tcpdump.command, tcpdump.args, { env: tcpdump.env });
        if (round < 0) continue;
        runs.push(run);
        tcpWalls.push(tcp.wall);
        log(
          `${label}: ${fmt(run.gbps)} GB/s over gRPC (CPU s/GB server ${fmt(run.serverCpuPerGb)}: ` +
            `main thread ${fmt(run.serverMainCpuPerGb)}, busiest other ${fmt(run.serverOtherCpuPerGb)}; ` +
            `client ${fmt(run.clientCpuPerGb)}), tcpdump ${fmt(tcp.wall, 2)} s, ${loadNote()}`,
        );
      }
      rmSync(tcpOut, { recursive: true, force: true });
      const wall = median(runs.map((r) => r.seconds));
      rows.push({
        label,
        bytes: checked.bytes,
        packets: Number(checked.done?.packets ?? 0n),
        chunks: checked.chunks,
        wall,
        gbps: checked.bytes / wall / 1e9,
        storeGbps: ring.bytes / wall / 1e9,
        serverCpuPerGb: median(runs.map((r) => r.serverCpuPerGb)),
        serverMainCpuPerGb: median(runs.map((r) => r.serverMainCpuPerGb)),
        serverOtherCpuPerGb: median(runs.map((r) => r.serverOtherCpuPerGb)),
        clientCpuPerGb: median(runs.map((r) => r.clientCpuPerGb)),
        tcpWall: median(tcpWalls),
        same,
      });
    }
  } finally {
    channel.close();
    rows.rss = peakRss(server.pid);
    await server.stop();
  }
  return section({ ring, chunkBytes, floorRows, rows, loadBefore });
}

/** One core each: the rate at which the busier of the two processes would saturate its core. */
const coreBound = (r) => 1 / Math.max(r.serverCpuPerGb, r.clientCpuPerGb);
/**
 * One core per thread: the rate at which the busiest thread (the server's main thread, its
 * slice worker, or the client) would saturate its core, on a host with a core for each.
 */
const threadBound = (r) => 1 / Math.max(r.serverMainCpuPerGb, r.serverOtherCpuPerGb, r.clientCpuPerGb);

function section({ ring, chunkBytes, floorRows, rows, loadBefore }) {
  const label = {
    raw: "raw grpc-js, Buffers as they are",
    fast: "adapter, fast Slice codec",
    generic: "adapter, protobuf-es codec",
  };
  const floorTable = [
    "| layer | message | GB/s | CPU s/GB server | CPU s/GB client | one core each (GB/s) |",
    "| --- | --- | --- | --- | --- | --- |",
    ...floorRows.map(
      (r) =>
        `| ${label[r.mode]} | ${r.size / KIB} KiB | ${fmt(r.gbps)} | ${fmt(r.serverCpuPerGb)} | ` +
        `${fmt(r.clientCpuPerGb)} | ${fmt(coreBound(r))} |`,
    ),
  ].join("\n");
  const table = [
    "| query | output | packets | chunks | gRPC slice (median) | output GB/s | store GB/s | CPU s/GB server (all threads) | server main thread | server slice worker | CPU s/GB client | one core per thread (GB/s) | tcpdump -r -w, per file (median) | vs tcpdump | same bytes as CLI |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${r.label} | ${fmt(r.bytes / 1e9)} GB | ${r.packets} | ${r.chunks} | ${fmt(r.wall, 3)} s | ` +
        `${fmt(r.gbps)} | ${fmt(r.storeGbps)} | ${fmt(r.serverCpuPerGb)} | ${fmt(r.serverMainCpuPerGb)} | ` +
        `${fmt(r.serverOtherCpuPerGb)} | ${fmt(r.clientCpuPerGb)} | ${fmt(threadBound(r))} | ` +
        `${fmt(r.tcpWall, 3)} s | ${fmt(r.tcpWall / r.wall)}× | ${r.same ? "yes" : "**NO**"} |`,
    ),
  ].join("\n");
  const met = rows.every((r) => r.gbps >= TARGET_GBPS);
  const reachable = rows.every((r) => threadBound(r) >= TARGET_GBPS);
  const cores = availableParallelism();
  /** All the host's cores busy with nothing but this slice: server and client share them. */
  const hostBound = (r) => cores / (r.serverCpuPerGb + r.clientCpuPerGb);
  // What no slice over gRPC with SliceDone's hash can avoid, from this run's own full slices: the
  // client's receive, the server main thread's send (grpc-js framing, HTTP/2, loopback TCP; the
  // slice itself is on the worker), and the SHA-256 of the output.
  const sha = sha256CpuPerGb();
  const transport = Math.min(...rows.map((r) => r.serverMainCpuPerGb + r.clientCpuPerGb));
  // Reading the ring's bytes (from the page cache, 1 MiB reads into one buffer): CPU s per GB.
  const readStarted = process.cpuUsage();
  const readBytes = warmCache(ring.files.map((f) => f.path));
  const readUsed = process.cpuUsage(readStarted);
  const read = (readUsed.user + readUsed.system) / 1e6 / (readBytes / 1e9);
  const floorBound = cores / (transport + sha + read);
  return [
    "## Slice over gRPC (CaptureService/Slice on loopback)",
    "",
    "Every server in its own process on 127.0.0.1 (code from dist/), a grpc-js client in the",
    "benchmark process reading every message. *CPU s/GB* is each process's CPU time (user + system)",
    "per GB delivered; *one core each* is 1 / the larger of the two, the rate a dedicated core per",
    "process would allow: on a loaded shared host, GB/s mostly measures the CPU the runs were given.",
    "",
    `### Floors: medians of ${FLOOR_RUNS} runs of ${fmt(FLOOR_BYTES / 1e9)} GB after a warm-up`,
    "",
    "Raw grpc-js streams pre-built Buffers (serialize = identity: grpc-js still allocates and copies",
    "each behind its 5-byte frame header). The adapter streams ready-made DataChunks through",
    "bindService/createClient, with the fast SliceResponse codec (one allocation and one copy per",
    "message, as raw) and with protobuf-es's generic one (the code before the fast path).",
    `Measured with ${loadBefore}.`,
    "",
    floorTable,
    "",
    "### Full Slice",
    "",
    "The agent's CaptureService streams a whole-ring slice; ring in the page cache, indexes in the",
    `state directory, ${chunkBytes / KIB} KiB chunks; medians of ${RUNS} runs after a warm-up, taking turns with`,
    "tcpdump (`tcpdump -r FILE -w OUT EXPR` per file, one after the other, output on tmpfs). An",
    "untimed run per query hashes the stream: its SHA-256 equals `pcapfleet-agent slice`'s output",
    "and SliceDone's sha256.",
    "The slice (reads, filter, output framing, SHA-256) runs in a worker thread; the server's main",
    "thread cuts the transferred output into chunks and runs gRPC, and gives each 1 MiB output buffer",
    "back to the worker once gRPC has copied it into frames (no allocation per buffer; before that, 0.54–0.57",
    "GB/s with no filter on this host, main thread 0.93–1.04 CPU s/GB). Per thread, from /proc: *main",
    "thread*, and *slice worker* = the server's busiest other thread; *one core per thread* is",
    "1 / the largest of main thread, slice worker and client.",
    "Before the worker (same ring and queries, load average 3.35 / 3.24 / 3.81): 0.27 GB/s",
    "(`tcp port 443`) and 0.31 GB/s (no filter), 4.80 and 4.10 CPU s/GB, all on the main thread.",
    `Measured with ${loadNote()}; peak RSS of the server process ${fmt(rows.rss / 2 ** 20, 0)} MiB.`,
    "",
    `Ring: ${ring.files.length} files, ${fmt(ring.bytes / 1e6, 0)} MB, ${ring.packets} packets.`,
    "",
    table,
    "",
    `- ≥ ${TARGET_GBPS} GB/s of output over gRPC for a broad query: ${met ? "**met**" : "**not met**"} in this run` +
      `; with one core per thread: ${reachable ? "**reachable**" : "**not reachable**"}` +
      ` (${rows.map((r) => `${fmt(threadBound(r))} GB/s`).join(", ")}).`,
    `- This host's ${cores} cores, shared by server and client and busy with nothing else, allow at most ` +
      `${rows.map((r) => `${fmt(hostBound(r))} GB/s`).join(" and ")} (${cores} / (server + client CPU s/GB)).`,
    `- What no such slice can avoid, in this run: sending and receiving over gRPC (server main thread + client, ` +
      `at least ${fmt(transport)} CPU s/GB above), the SHA-256 of the output that SliceDone carries ` +
      `(${fmt(sha)} s/GB on this CPU) and reading the ring's bytes (${fmt(read)} s/GB from the page cache): ` +
      `${fmt(transport + sha + read)} CPU s/GB, so ${cores} cores allow at most ` +
      `${fmt(floorBound)} GB/s even if parsing, filtering and framing cost nothing` +
      `${floorBound < TARGET_GBPS ? `: ${TARGET_GBPS} GB/s is out of reach on this host` : ""}.`,
  ].join("\n");
}

if (process.argv[2] === "--serve") {
  const [mode, chunk, store, state] = process.argv.slice(3);
  await serve(mode, Number(chunk), store, state);
}
