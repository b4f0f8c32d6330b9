// Ingest benchmark: one collector ingest server (SensorIngest on real Postgres, run as its own
// process from collector/dist) against a simulator of agents on real gRPC streams.
//
// What stands for "20,000 sensors at 10 s": the same 2,000 heartbeats/s, sent by STREAMS agents
// (default 2,000, each on its own connection) at STREAMS/RATE s intervals, each with a distinct
// sensor name, a realistic status (one store, two devices, capture counters) and, every sixth
// heartbeat, a minute of subnet traffic (10 rows). Fewer connections than the real fleet, the
// same write load; the per-connection cost of 20,000 idle HTTP/2 connections is not measured.
//
// Reported: sustained heartbeats/s (acked, in the measurement window), ack latency p50/p99
// (write → ack, so it includes batching), CPU of the collector process and of Postgres.
// Needs DATABASE_URL (a scratch database is created and dropped) and a build
// (`node scripts/build.mjs`). Env: BENCH_INGEST_RATE, BENCH_INGEST_STREAMS, BENCH_INGEST_SECONDS.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const SELF = fileURLToPath(import.meta.url);
const dist = (path) => new URL(`../collector/dist/${path}`, import.meta.url).href;
const RATE = Number(process.env.BENCH_INGEST_RATE ?? 2000);
const STREAMS = Number(process.env.BENCH_INGEST_STREAMS ?? 2000);
const SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 20);
const WARMUP_SECONDS = 5;
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

/** CPU seconds of every process named postgres (server and backends). */
function postgresCpu() {
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
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

/** Server mode: the collector side, in its own process so its CPU is measured alone. */
async function serve(databaseUrl) {
  const { createLogger } = await import("@pcapfleet/core");
  const { createGrpcServer, listen } = await import("@pcapfleet/proto");
  const { createPgDb, migrate } = await import(dist("db/index.js"));
  const { createMemoryKv } = await import(dist("kv/index.js"));
  const { createIngestService } = await import(dist("ingest/index.js"));
  const { createPartitionManager } = await import(dist("partitions/index.js"));
  const { createOfflineSweeper } = await import(dist("sensors/index.js"));
  const log = createLogger({ name: "bench-ingest", level: "warn" });
  const db = await createPgDb(databaseUrl, { log });
  const kv = createMemoryKv({ log });
  await migrate(db, fileURLToPath(new URL("../sql", import.meta.url)), { log });
  await createPartitionManager({ db, log }).runOnce();
  const ingest = createIngestService({ db, kv, log });
  const sweeper = createOfflineSweeper({ db, kv, log });
  sweeper.start();
  const server = createGrpcServer({ log, services: [ingest.binding] });
  const port = await listen(server.server, "127.0.0.1:0");
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  // The parent closes stdin to stop us.
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.on("end", resolve));
  await server.shutdown(2_000);
  await sweeper.stop();
  await ingest.drain();
  const cpu = process.cpuUsage();
  process.stdout.write(
    `${JSON.stringify({ stats: ingest.stats(), cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`,
  );
  await db.close();
  await kv.close();
}

/** One simulated agent's heartbeat. */
function heartbeat(name, sequence, nowMs, proto) {
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
  return {
    kind: {
      case: "heartbeat",
      value: {
        sequence: BigInt(sequence),
        sentAt: { seconds: BigInt(Math.floor(nowMs / 1000)), nanos: 0 },
        status: {
          identity: {
            name,
            location: `site-${name.length % 7}`,
            version: "0.1.0",
            agentAddress: "10.0.0.1:50052",
          },
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
            rxBytes: BigInt(sequence) * 1_000_000n,
            rxPackets: BigInt(sequence) * 1000n,
            capturing: device === "eth1",
          })),
          capture: [
            { interface: "eth1", packetsReceived: BigInt(sequence) * 100_000n, packetsDroppedKernel: 0n },
          ],
        },
        traffic,
      },
    },
  };
}

/** The benchmark module: see the file comment. Returns its Markdown section. */
export default async function ingestBench({ log }) {
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl === undefined || serverUrl === "") {
    log("DATABASE_URL is not set: skipping the ingest benchmark");
    return "## Ingest\n\nNot run: needs DATABASE_URL (a real Postgres).";
  }
  const pg = await import("pg");
  const proto = await import("@pcapfleet/proto");
  const name = `pcapfleet_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.default.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const profile = process.env.BENCH_INGEST_PROFILE
    ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_INGEST_PROFILE}`]
    : [];
  const child = spawn(process.execPath, [...profile, SELF, "--server"], {
    env: { ...process.env, BENCH_DATABASE_URL: url.toString() },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const channels = [];
  try {
    const { port } = JSON.parse((await lines.next()).value);
    const loadAtStart = loadavg()[0];
    const intervalMs = (STREAMS / RATE) * 1000;
    log(
      `${STREAMS} streams at ${fmt(intervalMs, 0)} ms (target ${RATE} heartbeats/s), ${SECONDS} s measured`,
    );
    const latencies = [];
    let acked = 0;
    let measuring = false;
    let stopped = false;
    const agents = [];
    for (let i = 0; i < STREAMS; i += 1) {
      // One connection per agent, as in the field (grpc-js would otherwise share one).
      const channel = proto.createChannel(`127.0.0.1:${port}`, undefined, {
        "grpc.use_local_subchannel_pool": 1,
      });
      channels.push(channel);
      const client = proto.createClient(proto.SensorIngest, channel);
      agents.push({ sensor: `bench-${String(i).padStart(5, "0")}`, call: client.heartbeats(), sequence: 0 });
    }
    const runs = agents.map(async (agent, i) => {
      const sent = new Map();
      const reader = (async () => {
        for await (const response of agent.call.responses) {
          const at = performance.now();
          const started = sent.get(response.kind.value.sequence);
          sent.delete(response.kind.value.sequence);
          if (measuring && started !== undefined) {
            acked += 1;
            latencies.push(at - started);
          }
        }
      })().catch((error) => {
        if (!stopped) throw error;
      });
      // Spread the agents over the interval, as a fleet started at different times is.
      await new Promise((resolve) => setTimeout(resolve, (i / STREAMS) * intervalMs));
      while (!stopped) {
        agent.sequence += 1;
        sent.set(BigInt(agent.sequence), performance.now());
        agent.call.requests.write(heartbeat(agent.sensor, agent.sequence, Date.now(), proto));
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
      agent.call.requests.end();
      await reader;
    });
    await new Promise((resolve) => setTimeout(resolve, WARMUP_SECONDS * 1000));
    const cpu0 = {
      self: cpuSeconds(process.pid),
      collector: cpuSeconds(child.pid),
      postgres: postgresCpu(),
      at: performance.now(),
    };
    measuring = true;
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    measuring = false;
    const cpu1 = {
      self: cpuSeconds(process.pid),
      collector: cpuSeconds(child.pid),
      postgres: postgresCpu(),
      at: performance.now(),
    };
    stopped = true;
    await Promise.allSettled(runs);
    child.stdin.end();
    const exit = JSON.parse((await lines.next()).value ?? "{}");
    const stats = exit.stats ?? {};
    const wall = (cpu1.at - cpu0.at) / 1000;
    latencies.sort((a, b) => a - b);
    const rate = acked / wall;
    const pct = (a, b) => ((b - a) / wall) * 100;
    const collectorCpu = pct(cpu0.collector, cpu1.collector);
    const postgresCpuPct = pct(cpu0.postgres, cpu1.postgres);
    const simulatorCpu = pct(cpu0.self, cpu1.self);
    // CPU time per acked heartbeat: unlike the rate, it does not depend on how much of the
    // machine other processes took meanwhile.
    const perBeat = (a, b) => ((b - a) / Math.max(1, acked)) * 1e6;
    const collectorUs = perBeat(cpu0.collector, cpu1.collector);
    const postgresUs = perBeat(cpu0.postgres, cpu1.postgres);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const load = loadavg()[0];
    log(
      `${fmt(rate, 0)} heartbeats/s, ack p50 ${fmt(p50)} ms p99 ${fmt(p99)} ms, collector CPU ${fmt(collectorCpu, 0)}% ` +
        `(${fmt(collectorUs, 0)} µs/heartbeat), Postgres CPU ${fmt(postgresCpuPct, 0)}% (${fmt(postgresUs, 0)} µs/heartbeat), ` +
        `simulator CPU ${fmt(simulatorCpu, 0)}%, load average ${fmt(load, 1)} (start ${fmt(loadAtStart, 1)})`,
    );
    const perBatch = stats.batches > 0 ? stats.heartbeats / stats.batches : Number.NaN;
    return [
      "## Ingest (SensorIngest → Postgres)",
      "",
      `${STREAMS} agents on their own gRPC connections, one heartbeat every ${fmt(intervalMs / 1000, 2)} s each ` +
        `(target ${RATE}/s: the load of ${RATE * 10} sensors at 10 s), against one collector process on ` +
        `PostgreSQL (\`DATABASE_URL\`), ${SECONDS} s measured after ${WARMUP_SECONDS} s warm-up. Each heartbeat ` +
        "carries one store, two devices and capture counters; every sixth also 10 subnet-traffic rows.",
      "",
      "| sustained heartbeats/s | ack p50 | ack p99 | collector CPU | Postgres CPU | simulator CPU | heartbeats per transaction |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      `| ${fmt(rate, 0)} | ${fmt(p50)} ms | ${fmt(p99)} ms | ${fmt(collectorCpu, 0)}% | ${fmt(postgresCpuPct, 0)}% | ` +
        `${fmt(simulatorCpu, 0)}% | ${fmt(perBatch, 0)} |`,
      "",
      `CPU per heartbeat: collector ${fmt(collectorUs, 0)} µs, Postgres ${fmt(postgresUs, 0)} µs ` +
        `(so one core of collector keeps up with about ${fmt(1e6 / collectorUs, 0)} heartbeats/s). ` +
        "CPU is % of one core (200% = both cores of a 2-core machine); the simulator shares the machine. " +
        `Load average ${fmt(loadAtStart, 1)} at start and ${fmt(load, 1)} at the end: on a machine shared with ` +
        "other work, rate and latency suffer first, CPU per heartbeat much less. REST p99 under this load is measured separately.",
    ].join("\n");
  } finally {
    for (const channel of channels) channel.close();
    if (child.exitCode === null) {
      child.stdin.end();
      await Promise.race([once(child, "exit"), new Promise((resolve) => setTimeout(resolve, 10_000))]);
    }
    if (child.exitCode === null) child.kill();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

if (process.argv[1] === SELF && process.argv.includes("--server")) {
  await serve(process.env.BENCH_DATABASE_URL);
}
