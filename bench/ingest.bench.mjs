// Collector load benchmark (issue #5, speed): the real `pcapfleet-collector run` on a scratch
// PostgreSQL database, a simulator of agents on real gRPC streams sending heartbeats, and
// meanwhile a REST client reading `GET /api/v1/sensors` (one page) with a valid token.
//
// Four processes, so no part starves another on one event loop and each one's CPU is measured
// alone: this orchestrator (idle while measuring: it only reads /proc and /metrics at the window's
// edges), the collector, the simulator (`--simulate`) and the REST client (`--rest`). The children
// talk JSON lines: they print `ready` and, after `stop`, their result; they read `start`, `stop`
// and `exit` on stdin.
//
// What stands for "20,000 sensors at 10 s": SENSORS distinct sensors (default RATE × 10) each
// sending a heartbeat every SENSORS/RATE s, spread over STREAMS agent connections (default 2,000;
// each connection sends its sensors' heartbeats in turn, every STREAMS/RATE s). So the write load
// and the size of the fleet `GET /sensors` lists are those of the target; the per-connection cost
// of 20,000 idle HTTP/2 connections is not measured. Each heartbeat carries one store, two devices
// and capture counters; every sixth of a sensor also a minute of subnet traffic (10 rows). The
// warm-up lasts at least one full cycle, so every sensor is registered before measuring starts.
//
// The REST client is open-loop: REST_RATE requests/s on a fixed schedule (a slow answer does not
// delay the next request, so slowness is not hidden), keep-alive connections, latency = request
// written → last body byte. Needs DATABASE_URL (a scratch database is created and dropped) and a
// build (`node scripts/build.mjs`). Env: BENCH_INGEST_RATE (2000), BENCH_INGEST_STREAMS (2000),
// BENCH_INGEST_SECONDS (20), BENCH_INGEST_SENSORS (RATE × 10), BENCH_INGEST_REST (0 skips the REST
// client), BENCH_INGEST_WARMUP (seconds before measuring; default one cycle + 2 s, at least 5),
// BENCH_INGEST_REST_RATE (10), BENCH_INGEST_REST_PAGE (sensors per page the REST client
// asks for, 1000: the API's default; at most 5000), BENCH_INGEST_REDIS_URL (unset: the in-process
// Kv), BENCH_INGEST_PROFILE (a directory: the collector writes a CPU profile there).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const COLLECTOR_BIN = join(ROOT, "collector", "bin", "pcapfleet-collector.js");
const RATE = Number(process.env.BENCH_INGEST_RATE ?? 2000);
const STREAMS = Number(process.env.BENCH_INGEST_STREAMS ?? 2000);
const SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 20);
const SENSORS = Math.max(STREAMS, Number(process.env.BENCH_INGEST_SENSORS ?? RATE * 10));
const REST = process.env.BENCH_INGEST_REST !== "0";
const REST_RATE = Number(process.env.BENCH_INGEST_REST_RATE ?? 10);
const REST_PAGE = Number(process.env.BENCH_INGEST_REST_PAGE ?? 1000);
const REDIS_URL = process.env.BENCH_INGEST_REDIS_URL || undefined;
const WARMUP_SECONDS = Number(process.env.BENCH_INGEST_WARMUP ?? Math.max(5, Math.ceil(SENSORS / RATE) + 2));
const REST_P99_TARGET_MS = 100;
const TICK = Number(process.env.CLK_TCK ?? 100);

/** CPU seconds (user+system) of a process, from /proc; 0 once it is gone. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICK;
  } catch {
    return 0;
  }
}

/** Resident and peak resident memory of a process in bytes (0 once it is gone). */
function memory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb("VmRSS"), peak: kb("VmHWM") };
  } catch {
    return { rss: 0, peak: 0 };
  }
}

/** CPU seconds of every process named postgres (this server's and anyone else's work). */
function allPostgresCpu() {
  let total = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "postgres") total += cpuSeconds(pid);
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const alive = (proc) => proc.exitCode === null && proc.signalCode === null;

/** Count and percentiles (ms) of `values`, sorted in place. */
function summarize(values) {
  values.sort((a, b) => a - b);
  const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(values, p));
  return { n: values.length, p50, p95, p99, max: values.at(-1) ?? Number.NaN };
}

/** A child's side of the protocol: `handlers[cmd]()` per stdin line; stdin closed = `exit`. */
function obey(handlers) {
  const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
  const input = createInterface({ input: process.stdin });
  let exiting = false;
  const exit = () => {
    if (!exiting) void handlers.exit();
    exiting = true;
  };
  input.on("line", (line) => (line.trim() === "exit" ? exit() : handlers[line.trim()]?.()));
  input.on("close", exit);
  return send;
}

/** One simulated agent's heartbeat for sensor `name`. */
function heartbeat(name, location, sequence, nowMs, proto) {
  const nowNs = BigInt(nowMs) * 1_000_000n;
  const minute = BigInt(Math.floor(nowMs / 60_000) - 1) * 60_000_000_000n;
  const traffic =
    sequence % 6 === 0
      ? Array.from({ length: 10 }, (_, i) => ({
          minuteStartNs: minute,
          prefix: `10.${i}.0.0/16`,
          direction: i % 2 === 0 ? proto.TrafficDirection.SRC : proto.TrafficDirection.DST,
          bytes: BigInt(1_000_000 + i),
          packets: 1000n,
        }))
      : [];
  const n = BigInt(sequence);
  return {
    kind: {
      case: "heartbeat",
      value: {
        sequence: n,
        sentAt: { seconds: BigInt(Math.floor(nowMs / 1000)), nanos: 0 },
        status: {
          identity: { name, location, version: "0.1.0", agentAddress: "10.0.0.1:50052" },
          health: { cpuPercent: 20, memoryTotalBytes: 16n << 30n, memoryUsedBytes: 4n << 30n, load1m: 0.5 },
          stores: [
            {
              path: "/var/pcap",
              state: proto.StoreState.OK,
              disk: { sizeBytes: 1n << 40n, usedBytes: 1n << 39n, freeBytes: 1n << 39n, usedPercent: 50 },
              pcap: {
                oldestPacketNs: nowNs - 86_400_000_000_000n * 3n,
                newestPacketNs: nowNs - 1_000_000_000n,
                bytes: 1n << 39n,
                files: 512n,
                ingestBytesPerSecond: 2e6,
                retentionForecastHours: 72,
              },
            },
          ],
          devices: ["eth0", "eth1"].map((device) => ({
            name: device,
            state: 1,
            speedMbps: 10_000n,
            rxBytes: n * 1_000_000n,
            rxPackets: n * 1000n,
            capturing: device === "eth1",
          })),
          capture: [{ interface: "eth1", packetsReceived: n * 100_000n, packetsDroppedKernel: 0n }],
        },
        traffic,
      },
    },
  };
}

/** Simulator mode: STREAMS agent connections to `address`, SENSORS sensors taking turns on them. */
async function simulate(address) {
  const proto = await import("@pcapfleet/proto");
  const intervalMs = (STREAMS / RATE) * 1000;
  const latencies = [];
  // `window`: when measuring started; `sent`/`acked` count inside it, `failed` streams all along.
  const st = { measuring: false, stopped: false, window: 0, sent: 0, acked: 0, failed: 0 };
  const streams = [];
  for (let i = 0; i < STREAMS; i += 1) {
    // One connection per agent, as in the field (grpc-js would otherwise share one).
    const channel = proto.createChannel(address, undefined, { "grpc.use_local_subchannel_pool": 1 });
    const sensors = [];
    for (let s = i; s < SENSORS; s += STREAMS) {
      sensors.push({ name: `bench-${String(s).padStart(5, "0")}`, location: `site-${s % 7}`, sequence: 0 });
    }
    // Acks come in request order on a stream, so a FIFO of send times pairs them up.
    streams.push({
      channel,
      call: proto.createClient(proto.SensorIngest, channel).heartbeats(),
      sensors,
      fifo: [],
    });
  }
  const runs = streams.map(async (stream, i) => {
    const reader = (async () => {
      for await (const _ of stream.call.responses) {
        const started = stream.fifo.shift();
        if (st.measuring && started !== undefined) {
          st.acked += 1;
          latencies.push(performance.now() - started);
        }
      }
    })().catch(() => {
      if (!st.stopped) st.failed += 1;
    });
    // Spread the streams over the interval, as a fleet started at different times is; keep to
    // the schedule by absolute time, so a late tick does not lower the rate.
    const first = performance.now() + (i / STREAMS) * intervalMs;
    for (let k = 0; !st.stopped; k += 1) {
      await sleep(Math.max(0, first + k * intervalMs - performance.now()));
      if (st.stopped) break;
      const sensor = stream.sensors[k % stream.sensors.length];
      sensor.sequence += 1;
      stream.fifo.push(performance.now());
      if (st.measuring) st.sent += 1;
      stream.call.requests.write(heartbeat(sensor.name, sensor.location, sensor.sequence, Date.now(), proto));
    }
    stream.call.requests.end();
    await Promise.race([reader, sleep(5_000)]);
  });
  const send = obey({
    start() {
      Object.assign(st, { measuring: true, window: performance.now(), sent: 0, acked: 0 });
    },
    stop() {
      st.measuring = false;
      const { sent, acked, failed } = st;
      const seconds = (performance.now() - st.window) / 1000;
      send({ result: { seconds, sent, acked, failed, ack: summarize(latencies) } });
    },
    async exit() {
      st.stopped = true;
      await Promise.race([Promise.allSettled(runs), sleep(10_000)]);
      for (const stream of streams) stream.channel.close();
      process.exit(0);
    },
  });
  send({ ready: true });
}

/** REST client mode: REST_RATE × `GET /api/v1/sensors?limit=REST_PAGE` per second against `base`, open-loop. */
async function restClient(base, password) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const call = (method, path, headers, body) =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const req = request(`${base}${path}`, { method, agent, headers }, (res) => {
        const chunks = [];
        res.on("data", (chunk) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode, body: Buffer.concat(chunks), ms: performance.now() - started }),
        );
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body);
    });
  const login = async () => {
    const body = JSON.stringify({ username: "admin", password });
    const res = await call("POST", "/api/v1/login", { "content-type": "application/json" }, body);
    if (res.status !== 200) throw new Error(`login: HTTP ${res.status} ${res.body.toString().slice(0, 200)}`);
    return JSON.parse(res.body.toString()).access_token;
  };
  let token = await login();
  const latencies = [];
  const statuses = {};
  const st = {
    measuring: false,
    stopped: false,
    inFlight: 0,
    maxInFlight: 0,
    skipped: 0,
    errors: 0,
    bytes: 0,
  };
  let last = null;
  const getSensors = async () => {
    st.inFlight += 1;
    st.maxInFlight = Math.max(st.maxInFlight, st.inFlight);
    try {
      const res = await call("GET", `/api/v1/sensors?limit=${REST_PAGE}`, {
        authorization: `Bearer ${token}`,
      });
      // An access token lives 15 minutes; a long run logs in again (that request is not counted).
      if (res.status === 401) token = await login();
      else if (st.measuring) {
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        latencies.push(res.ms);
        st.bytes += res.body.length;
        last = res.body;
      }
    } catch {
      if (st.measuring) st.errors += 1;
    } finally {
      st.inFlight -= 1;
    }
  };
  const intervalMs = 1000 / REST_RATE;
  const loop = (async () => {
    const first = performance.now();
    for (let k = 0; !st.stopped; k += 1) {
      await sleep(Math.max(0, first + k * intervalMs - performance.now()));
      // Bounded, so a collector that stops answering cannot make the client open sockets forever.
      if (st.inFlight >= 64) st.skipped += st.measuring ? 1 : 0;
      else void getSensors();
    }
  })();
  const send = obey({
    start() {
      Object.assign(st, { measuring: true, maxInFlight: st.inFlight, skipped: 0, errors: 0, bytes: 0 });
    },
    stop() {
      st.measuring = false;
      const { errors, skipped, maxInFlight } = st;
      const sensors = last === null ? 0 : JSON.parse(last.toString()).sensors.length;
      const meanBytes = st.bytes / latencies.length;
      send({
        result: { statuses, errors, skipped, maxInFlight, meanBytes, sensors, latency: summarize(latencies) },
      });
    },
    async exit() {
      st.stopped = true;
      await loop;
      agent.destroy();
      process.exit(0);
    },
  });
  send({ ready: true });
}

/** A child of this file in `mode`, with its JSON-line output as an async iterator. */
function child(mode, args, env = {}) {
  const proc = spawn(process.execPath, [SELF, mode, ...args], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`bench ${mode} child exited (${proc.exitCode ?? "signal"})`);
    return JSON.parse(value);
  };
  return { proc, next, tell: (cmd) => proc.stdin.write(`${cmd}\n`) };
}

/** Starts `pcapfleet-collector run`; resolves with its HTTP URL and gRPC address from the banner. */
async function startCollector(databaseUrl, dataDir, password) {
  const profile = process.env.BENCH_INGEST_PROFILE
    ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_INGEST_PROFILE}`]
    : [];
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    PCAPFLEET_HTTP_LISTEN: "127.0.0.1:0",
    PCAPFLEET_GRPC_LISTEN: "127.0.0.1:0",
    PCAPFLEET_DATA_DIR: dataDir,
    PCAPFLEET_ADMIN_PASSWORD: password,
    // Per-request info lines at 2,000 heartbeats/s would measure the logger, not the collector.
    PCAPFLEET_LOG_LEVEL: "warn",
  };
  delete env.REDIS_URL;
  if (REDIS_URL !== undefined) env.REDIS_URL = REDIS_URL;
  const proc = spawn(process.execPath, [...profile, COLLECTOR_BIN, "run"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Read its output all along (a full pipe would stall it); keep the tail for error messages.
  let tail = "";
  const keep = (chunk) => {
    tail = (tail + chunk).slice(-8192);
  };
  proc.stdout.on("data", keep);
  proc.stderr.on("data", keep);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const http = /Dashboard: (http:\/\/\S+?)\/?\n/.exec(tail)?.[1];
    const grpc = /gRPC: (\S+)\n/.exec(tail)?.[1];
    if (http !== undefined && grpc !== undefined) return { proc, http, grpc, tail: () => tail };
    if (!alive(proc) || Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`collector did not start:\n${tail}`);
    }
    await sleep(50);
  }
}

/**
 * Counters from the collector's /metrics: heartbeats stored, GET /sensors server time, and the
 * event loop's delay (prom-client resets that histogram at each scrape, so the scrape at the
 * window's end covers the window).
 */
async function scrape(http) {
  const text = await (await fetch(`${http}/metrics`)).text();
  const sum = (pattern) =>
    text
      .split("\n")
      .filter((line) => pattern.test(line))
      .reduce((total, line) => total + Number(line.split(" ").at(-1)), 0);
  const route = /method="GET",route="[^"]*\/sensors",status="200"/;
  return {
    loopP99Ms: sum(/^pcapfleet_collector_nodejs_eventloop_lag_p99_seconds /) * 1000,
    loopMaxMs: sum(/^pcapfleet_collector_nodejs_eventloop_lag_max_seconds /) * 1000,
    heartbeats: sum(/^pcapfleet_heartbeats_total /),
    sensorsSeconds: sum(new RegExp(`^pcapfleet_http_request_duration_seconds_sum\\{${route.source}`)),
    sensorsCount: sum(new RegExp(`^pcapfleet_http_request_duration_seconds_count\\{${route.source}`)),
  };
}

/** CPU counters of everything measured, at one instant. */
async function sample(admin, database, pids) {
  const { rows } = await admin.query("SELECT pid FROM pg_stat_activity WHERE datname = $1", [database]);
  const backends = new Map(rows.map(({ pid }) => [pid, cpuSeconds(pid)]));
  const cpu = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  return { at: performance.now(), cpu, backends, allPostgres: allPostgresCpu() };
}

const kvName = REDIS_URL === undefined ? "in-process Kv (REDIS_URL unset)" : "Redis (REDIS_URL set)";
const loads = (l) => l.map((x) => fmt(x, 2)).join(" / ");

/** The Markdown section (and log lines) from what {@link ingestBench} measured. */
function report({ s0, s1, m0, m1, mem, loadAtStart, loadAtEnd, sim, rest }, log) {
  const wall = (s1.at - s0.at) / 1000;
  const pct = (name) => ((s1.cpu[name] - s0.cpu[name]) / wall) * 100;
  // Backends of the scratch database: those at the end, less what they had used at the start.
  let backendCpu = 0;
  for (const [pid, cpu] of s1.backends) backendCpu += cpu - (s0.backends.get(pid) ?? 0);
  const postgres = (backendCpu / wall) * 100;
  const allPostgres = ((s1.allPostgres - s0.allPostgres) / wall) * 100;
  const [rate, sent] = [sim.acked / sim.seconds, sim.sent / sim.seconds];
  const stored = (m1.heartbeats - m0.heartbeats) / wall;
  const { ack } = sim;
  const collectorUs = ((s1.cpu.collector - s0.cpu.collector) / Math.max(1, sim.acked)) * 1e6;
  const rateMet = rate >= 0.99 * RATE && sim.failed === 0;
  const mib = (bytes) => fmt(bytes / 2 ** 20, 0);
  log(
    `${fmt(rate, 0)} acked heartbeats/s (sent ${fmt(sent, 0)}/s, stored ${fmt(stored, 0)}/s), ack p50 ${fmt(ack.p50)} ms ` +
      `p99 ${fmt(ack.p99)} ms; CPU collector ${fmt(pct("collector"), 0)}% (${fmt(collectorUs, 0)} µs/heartbeat), ` +
      `Postgres ${fmt(postgres, 0)}% (all postgres ${fmt(allPostgres, 0)}%), simulator ${fmt(pct("sim"), 0)}%; ` +
      `collector RSS ${mib(mem.rss)} MiB, event loop delay p99 ${fmt(m1.loopP99Ms)} ms max ${fmt(m1.loopMaxMs)} ms`,
  );
  const lines = [
    "## Collector load (ingest + REST, issue #5)",
    "",
    `The real \`pcapfleet-collector run\` on PostgreSQL (\`DATABASE_URL\`, scratch database) with the ${kvName}. ` +
      `${SENSORS} sensors, each sending a heartbeat every ${fmt(SENSORS / RATE, 1)} s (target ${RATE}/s), over ` +
      `${STREAMS} agent gRPC connections from a simulator process; ${SECONDS} s measured after ${WARMUP_SECONDS} s ` +
      "warm-up (every sensor registered before). Each heartbeat carries one store, two devices and capture " +
      "counters; every sixth of a sensor also 10 subnet-traffic rows. Machine: " +
      `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, ` +
      `Node ${process.version}; load average ${loads(loadAtStart)} at start, ${loads(loadAtEnd)} at the end (1/5/15 min).`,
    ...(Math.max(loadAtStart[0], loadAtEnd[0]) > cpus().length
      ? [
          "",
          `**Loaded machine**: the 1-minute load average was above the ${cpus().length} cores, so other work ` +
            "competed with the collector, Postgres and the simulator for CPU (compare the simulator's sent/s with " +
            "the target); these figures say little about pcapfleet itself.",
        ]
      : []),
    "",
    "| acked heartbeats/s | sent/s | ack p50 | ack p99 | collector CPU | collector RSS (peak) | Postgres CPU | simulator CPU | target met |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    `| ${fmt(rate, 0)} | ${fmt(sent, 0)} | ${fmt(ack.p50)} ms | ${fmt(ack.p99)} ms | ${fmt(pct("collector"), 0)}% | ` +
      `${mib(mem.rss)} MiB (${mib(mem.peak)}) | ${fmt(postgres, 0)}% | ${fmt(pct("sim"), 0)}% | ` +
      `${rateMet ? "yes" : "**no**"} (≥ 99% of ${RATE}/s) |`,
    "",
    "CPU is % of one core (200% = both cores of a 2-core machine). Collector CPU per acked heartbeat " +
      `${fmt(collectorUs, 0)} µs (all its work, REST included). Postgres CPU counts the backends of the scratch ` +
      "database; every postgres process together (WAL writer, checkpointer, other users of this server) used " +
      `${fmt(allPostgres, 0)}%. Stored by the collector (\`/metrics\`): ${fmt(stored, 0)} heartbeats/s. ` +
      `Collector event loop delay over the window: p99 ${fmt(m1.loopP99Ms)} ms, max ${fmt(m1.loopMaxMs)} ms. ` +
      `Failed simulator streams: ${sim.failed}.`,
  ];
  if (rest === undefined) return [...lines, "", "REST client off (`BENCH_INGEST_REST=0`)."].join("\n");
  const { latency, meanBytes, sensors } = rest;
  const restMet = latency.p99 < REST_P99_TARGET_MS && rest.errors === 0 && rest.skipped === 0;
  const serverMs =
    ((m1.sensorsSeconds - m0.sensorsSeconds) / Math.max(1, m1.sensorsCount - m0.sensorsCount)) * 1000;
  const perSensor = sensors > 0 ? meanBytes / sensors : Number.NaN;
  const statuses = Object.entries(rest.statuses).map(([status, n]) => `${n} × ${status}`);
  log(
    `GET /sensors: p50 ${fmt(latency.p50)} ms p95 ${fmt(latency.p95)} ms p99 ${fmt(latency.p99)} ms max ` +
      `${fmt(latency.max)} ms (server mean ${fmt(serverMs)} ms), ${fmt(meanBytes / 1024, 0)} KiB, ${sensors} sensors`,
  );
  return [
    ...lines,
    "",
    `Meanwhile \`GET /api/v1/sensors?limit=${REST_PAGE}\` (admin token, the first page), open-loop at ${REST_RATE} requests/s from its own process ` +
      `(keep-alive; latency = request sent → last byte; ${statuses.join(", ") || "no answers"}, ${rest.errors} ` +
      `errors, ${rest.skipped} skipped at 64 in flight, at most ${rest.maxInFlight} in flight):`,
    "",
    "| requests | p50 | p95 | p99 | max | server mean | response | REST client CPU | p99 < 100 ms |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    `| ${latency.n} | ${fmt(latency.p50)} ms | ${fmt(latency.p95)} ms | ${fmt(latency.p99)} ms | ${fmt(latency.max)} ms | ` +
      `${fmt(serverMs)} ms | ${fmt(meanBytes / 1024, 0)} KiB (${sensors} sensors, ${fmt(perSensor, 0)} B each) | ` +
      `${fmt(pct("rest"), 0)}% | ${restMet ? "yes" : "**no**"} |`,
    "",
    `"Server mean" is the collector's own histogram (\`/metrics\`) for the route. \`GET /sensors\` is paged by ` +
      "name (`limit` up to 5000, default 1000; `next_after` names the next page); the client asks for the " +
      `first page of ${REST_PAGE} sensors (${fmt(perSensor, 0)} B each). Postgres builds the page as one JSON ` +
      "text that the collector passes through, on the event loop that also acks heartbeats, from the pool " +
      "the ingest writer uses. Pages are cached per query for at most 1 s from the query's start (ADR 0017), " +
      `so at ${REST_RATE} requests/s about one request per second reads Postgres and the others wait for that ` +
      "read or are served from memory; every request still goes through auth, validation and the event loop " +
      "that acks heartbeats.",
  ].join("\n");
}

/** The benchmark module: see the file comment. Returns its Markdown section. */
export default async function ingestBench({ log }) {
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl === undefined || serverUrl === "") {
    log("DATABASE_URL is not set: skipping the ingest benchmark");
    return "## Collector load (ingest + REST, issue #5)\n\nNot run: needs DATABASE_URL (a real Postgres).";
  }
  const pg = await import("pg");
  const database = `pcapfleet_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.default.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${database}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  const dataDir = mkdtempSync(join(tmpdir(), "pcapfleet-bench-ingest-"));
  const password = randomBytes(12).toString("hex");
  const loadAtStart = loadavg();
  const children = [];
  let collector;
  try {
    collector = await startCollector(url.toString(), dataDir, password);
    const sim = child("--simulate", [collector.grpc]);
    children.push(sim);
    const rest = REST ? child("--rest", [collector.http], { BENCH_INGEST_PASSWORD: password }) : undefined;
    if (rest !== undefined) children.push(rest);
    for (const c of children) await c.next();
    log(
      `${SENSORS} sensors every ${fmt(SENSORS / RATE, 1)} s over ${STREAMS} streams (target ${RATE} heartbeats/s), ` +
        `${kvName}, REST ${REST ? `${REST_RATE} GET /sensors/s` : "off"}; ${WARMUP_SECONDS} s warm-up, ${SECONDS} s measured`,
    );
    await sleep(WARMUP_SECONDS * 1000);
    const pids = { collector: collector.proc.pid, sim: sim.proc.pid, rest: rest?.proc.pid ?? 0 };
    const m0 = await scrape(collector.http);
    const s0 = await sample(admin, database, pids);
    for (const c of children) c.tell("start");
    await sleep(SECONDS * 1000);
    for (const c of children) c.tell("stop");
    const s1 = await sample(admin, database, pids);
    const m1 = await scrape(collector.http);
    const [mem, loadAtEnd] = [memory(collector.proc.pid), loadavg()];
    const simResult = (await sim.next()).result;
    const restResult = rest === undefined ? undefined : (await rest.next()).result;
    return report({ s0, s1, m0, m1, mem, loadAtStart, loadAtEnd, sim: simResult, rest: restResult }, log);
  } finally {
    for (const c of children) {
      c.tell("exit");
      c.proc.stdin.end();
    }
    for (const c of children) {
      if (alive(c.proc)) await Promise.race([once(c.proc, "exit"), sleep(15_000)]);
      if (alive(c.proc)) c.proc.kill("SIGKILL");
    }
    if (collector !== undefined && alive(collector.proc)) {
      collector.proc.kill("SIGTERM");
      await Promise.race([once(collector.proc, "exit"), sleep(20_000)]);
      if (alive(collector.proc)) collector.proc.kill("SIGKILL");
    }
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.end();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === SELF && process.argv[2] === "--simulate") await simulate(process.argv[3]);
if (process.argv[1] === SELF && process.argv[2] === "--rest") {
  await restClient(process.argv[3], process.env.BENCH_INGEST_PASSWORD);
}
