// Agent idle benchmark (issue #4, speed): the real `pcapfleet-agent run` on a 50 GiB ring
// (400 × 128 MiB, lib/ring50.mjs) with a fresh state directory, heartbeats every 10 s to a
// collector test double (agent/dist/ingest/collector-double.js: a real grpc-js SensorIngest
// server that acks every heartbeat; the real collector would add its own load to the host).
// First the time to catalogue and index the ring (until every file has its index on disk and a
// heartbeat shows the files with no INDEX task left), then idle: the agent's CPU over 60 s from
// /proc/PID/stat (utime + stime, and the CPU of children it reaped, cutime + cstime) as % of one
// core, its RSS (VmRSS, and the VmHWM peak) at the end, and the heartbeats received meanwhile,
// against the targets (< 1% of a core, < 120 MB). CPU is sampled every second too, so a periodic
// cost (the 30 s rescan, the heartbeat snapshot) shows as spikes at its period.
// Environment: BENCH_IDLE_GB (ring size in GiB, default 50), BENCH_IDLE_SECONDS (idle window,
// default 60), BENCH_KEEP_RING=1 keeps the ring afterwards (default: deleted, the disk is shared).
// Run `node scripts/build.mjs` first: the agent and the double run from dist/.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { BENCH_DIR } from "./lib/ring.mjs";
import { ensureRing50, freeBytes } from "./lib/ring50.mjs";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..");
// npm's bin, as systemd runs it: the launcher gives the daemon its V8 flags (ADR 0019) and execs
// Node, so the child's pid is the agent's.
const AGENT_BIN = join(root, "agent", "bin", "pcapfleet-agent");
/** Targets of issue #4. */
const TARGET = { cpuPercent: 1, rssMiB: 120 };
/** proto `TaskKind.INDEX`. */
const TASK_KIND_INDEX = 3;
const HEARTBEAT_S = 10;

const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const mib = (bytes) => `${fmt(bytes / 2 ** 20, 1)} MiB`;
const metOrNot = (ok) => (ok ? "**met**" : "**not met**");
const loads = (l) => l.map((x) => x.toFixed(2)).join(" / ");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Clock ticks per second of /proc/PID/stat times. */
function clockTicks() {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
}

/** CPU seconds of `pid`: its own (utime + stime) and its reaped children's (cutime + cstime). */
function cpuOf(pid, hz) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which may hold spaces: state is field 3, utime field 14.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { own: (Number(f[11]) + Number(f[12])) / hz, children: (Number(f[13]) + Number(f[14])) / hz };
}

/** VmRSS and VmHWM of `pid` in bytes. */
function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

/** Starts the agent on `config`; resolves once its banner line is out. */
async function startAgent(dir, config) {
  const file = join(dir, "agent.yaml");
  // JSON is YAML: no YAML writer needed.
  writeFileSync(file, JSON.stringify(config, null, 2));
  const child = spawn(AGENT_BIN, ["run", "--config", file], {
    cwd: root,
    // The environment wins over the file: clear what a developer's shell may have set.
    env: { ...process.env, PCAPFLEET_STORE: "", PCAPFLEET_COLLECTOR: "", PCAPFLEET_AGENT_LISTEN: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const onData = (chunk) => {
    output += chunk.toString();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)));
  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent did not start:\n${output}`)), 30_000);
    child.stdout.on("data", () => {
      const match = /serving on (\S+)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited (${code}) before serving:\n${output}`));
    });
  });
  return {
    child,
    address,
    output: () => output,
    running: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const indexCount = (state) => readdirSync(state).filter((n) => n.endsWith(".pfidx")).length;

/** A heartbeat showing `files` catalogued files and no indexing task. */
function settled(received, files) {
  const status = received.heartbeat.status;
  const catalogued = (status?.stores ?? []).reduce((sum, s) => sum + Number(s.pcap?.files ?? 0n), 0);
  const indexing = (status?.busyTasks ?? []).some((t) => t.kind === TASK_KIND_INDEX);
  return catalogued === files && !indexing;
}

/**
 * Waits until every file has its index in `state` and then for a heartbeat confirming it.
 * Returns the seconds from `started` to the last index file (polled every 200 ms).
 */
async function waitIndexed({ agent, state, collector, files, started, bytes, log }) {
  // 10 MB/s is far below any disk this runs on: only a stuck agent takes longer.
  const deadline = Date.now() + Math.max(120_000, (bytes / 10e6) * 1000);
  let lastLog = 0;
  for (let indexed = indexCount(state); indexed < files; indexed = indexCount(state)) {
    if (!agent.running()) throw new Error(`agent exited while indexing:\n${agent.output()}`);
    if (Date.now() > deadline) throw new Error(`indexing not done in time (${indexed}/${files})`);
    if (Date.now() - lastLog > 10_000) {
      log(`indexing: ${indexed}/${files} files`);
      lastLog = Date.now();
    }
    await sleep(200);
  }
  const seconds = (performance.now() - started) / 1000;
  const after = performance.now();
  const confirm = Date.now() + 3 * HEARTBEAT_S * 1000;
  while (!collector.received.some((r) => r.at > after && settled(r, files))) {
    if (Date.now() > confirm) throw new Error("no heartbeat shows the ring catalogued and idle");
    await sleep(200);
  }
  return seconds;
}

/**
 * Samples the agent every second for `seconds`: total CPU (own, children), the per-second CPU
 * trace, RSS at both ends, and heartbeats received in the window.
 */
async function measureIdle({ pid, hz, seconds, collector }) {
  const startMem = memoryOf(pid);
  const startCpu = cpuOf(pid, hz);
  const startBeats = collector.received.length;
  const t0 = performance.now();
  const perSecond = [];
  let prev = startCpu;
  for (let i = 1; i <= seconds; i++) {
    await sleep(t0 + i * 1000 - performance.now());
    const now = cpuOf(pid, hz);
    // Whole milliseconds: the differences of tick counts divided by CLK_TCK are not exact.
    perSecond.push({
      own: Math.round((now.own - prev.own) * 1000),
      children: Math.round((now.children - prev.children) * 1000),
      rss: memoryOf(pid).rss,
    });
    prev = now;
  }
  const wall = (performance.now() - t0) / 1000;
  const endMem = memoryOf(pid);
  const beats = collector.received.slice(startBeats);
  return {
    wall,
    own: prev.own - startCpu.own,
    children: prev.children - startCpu.children,
    perSecond,
    startMem,
    endMem,
    heartbeats: beats.length,
    lastStatus: beats.at(-1)?.heartbeat.status,
  };
}

/** The busiest seconds of the idle window: "t=12 s: 30 ms (20 ms in children)" items. */
function spikes(perSecond, count = 5) {
  return perSecond
    .map((s, i) => ({ ...s, ms: s.own + s.children, t: i + 1 }))
    .filter((s) => s.ms > 0)
    .sort((a, b) => b.ms - a.ms)
    .slice(0, count)
    .sort((a, b) => a.t - b.t)
    .map((s) => `t=${s.t} s: ${s.ms} ms${s.children > 0 ? ` (${s.children} ms in children)` : ""}`)
    .join(", ");
}

/** VmRSS every ten seconds of the window, with its lowest and highest value. */
function rssTrace(perSecond) {
  const every = perSecond.filter((_, i) => (i + 1) % 10 === 0).map((s) => fmt(s.rss / 2 ** 20, 0));
  const all = perSecond.map((s) => s.rss);
  return `${every.join(", ")} MiB (lowest ${mib(Math.min(...all))}, highest ${mib(Math.max(...all))})`;
}

/** The per-second trace as "own+children" ms, ten seconds per group. */
function trace(perSecond) {
  const cells = perSecond.map((s) => (s.children > 0 ? `${s.own}+${s.children}` : `${s.own}`));
  const groups = [];
  for (let i = 0; i < cells.length; i += 10) groups.push(cells.slice(i, i + 10).join(" "));
  return groups.join(" | ");
}

function machine() {
  return `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB memory, Node ${process.version}`;
}

/** The benchmark module: see the file comment. Returns its Markdown section. */
export default async function agentIdleBench({ log }) {
  const gib = Number(process.env.BENCH_IDLE_GB ?? 50);
  const idleSeconds = Math.max(1, Math.round(Number(process.env.BENCH_IDLE_SECONDS ?? 60)));
  const keep = process.env.BENCH_KEEP_RING === "1";
  const loadStart = loadavg();
  const ring = await ensureRing50(gib, log);
  const header = ["## Agent idle (`pcapfleet-agent run` with a large ring catalogued)", ""];
  if (ring.files.length === 0) {
    return [...header, `Not run: ${ring.fallback}.`].join("\n");
  }
  const n = ring.files.length;
  log(
    `ring ${ring.generated ? `generated in ${fmt(ring.generation.seconds, 0)} s` : "reused"}: ` +
      `${n} files, ${fmt(ring.bytes / 1e9, 1)} GB` +
      (ring.fallback === undefined ? "" : ` (${ring.fallback})`),
  );
  const { startCollectorDouble } = await import(
    pathToFileURL(join(root, "agent", "dist", "ingest", "collector-double.js")).href
  );
  const collector = await startCollectorDouble();
  const work = mkdtempSync(join(BENCH_DIR, "agent-idle-"));
  const state = join(work, "state");
  let agent;
  try {
    const started = performance.now();
    agent = await startAgent(work, {
      sensor: "bench-idle",
      stores: [ring.dir],
      collector: collector.address,
      listen: "127.0.0.1:0",
      heartbeatS: HEARTBEAT_S,
      stateDir: state,
      logLevel: "warn",
    });
    const pid = agent.child.pid;
    const hz = clockTicks();
    const indexSeconds = await waitIndexed({
      agent,
      state,
      collector,
      files: n,
      started,
      bytes: ring.bytes,
      log,
    });
    const indexCpu = cpuOf(pid, hz);
    const indexMem = memoryOf(pid);
    log(
      `catalogued and indexed in ${fmt(indexSeconds, 1)} s (${fmt(ring.bytes / 1e6 / indexSeconds, 0)} MB/s)`,
    );
    log(`idle: measuring ${idleSeconds} s`);
    const loadIdle = loadavg();
    const idle = await measureIdle({ pid, hz, seconds: idleSeconds, collector });
    const loadEnd = loadavg();
    const cpuPercent = ((idle.own + idle.children) / idle.wall) * 100;
    const ownPercent = (idle.own / idle.wall) * 100;
    const cpuMet = cpuPercent < TARGET.cpuPercent;
    const rssMet = idle.endMem.rss < TARGET.rssMiB * 2 ** 20;
    const stores = idle.lastStatus?.stores ?? [];
    const heartbeatFiles = stores.reduce((sum, s) => sum + Number(s.pcap?.files ?? 0n), 0);
    const heartbeatRss = Number(idle.lastStatus?.health?.agentRssBytes ?? 0n);
    const indexBytes = readdirSync(state)
      .filter((name) => name.endsWith(".pfidx"))
      .reduce((sum, name) => sum + statSync(join(state, name)).size, 0);
    log(
      `idle CPU ${fmt(cpuPercent, 3)}% (own ${fmt(ownPercent, 3)}%), RSS ${mib(idle.endMem.rss)} ` +
        `(peak ${mib(idle.endMem.hwm)}), ${idle.heartbeats} heartbeats`,
    );
    const expectedBeats = Math.floor(idle.wall / HEARTBEAT_S);
    return [
      ...header,
      "The real agent (`node agent/bin/pcapfleet-agent.js run`) with a fresh state directory, one",
      `store, heartbeats every ${HEARTBEAT_S} s to a collector test double (a real grpc-js SensorIngest`,
      "server in the benchmark's process that acks every heartbeat), default `quietMs`, log level",
      "warn. CPU is the agent's utime + stime from /proc/PID/stat plus the CPU of child processes it",
      "reaped (cutime + cstime), as % of one core; memory is VmRSS and VmHWM from /proc/PID/status.",
      `Machine: ${machine()}; ${fmt(freeBytes(BENCH_DIR) / 1e9, 0)} GB free on the bench disk at the end.`,
      `Load average (1/5/15 min): ${loads(loadStart)} at the start, ${loads(loadIdle)} when idle began, ` +
        `${loads(loadEnd)} at the end.`,
      "",
      `Ring: ${n} files of 128 MiB, ${fmt(ring.bytes / 1e9, 1)} GB, ${ring.packets} packets, ` +
        `${ring.end[0] - ring.start[0]} s of traffic (the cached 2.1 GB bench ring copied with its ` +
        "timestamps shifted so the files follow each other); " +
        (ring.generated
          ? `generated for this run in ${fmt(ring.generation.seconds, 0)} s (${fmt(ring.generation.mbps, 0)} MB/s), `
          : `reused from an earlier run (its generation took ${fmt(ring.generation.seconds, 0)} s), `) +
        (keep
          ? "kept afterwards (`BENCH_KEEP_RING=1`)."
          : "deleted afterwards (`BENCH_KEEP_RING=1` keeps it)."),
      ...(ring.fallback === undefined
        ? []
        : ["", `**Smaller ring than asked** (${ring.requestedFiles} files): ${ring.fallback}.`]),
      "",
      "### Catalogue and index",
      "",
      `- From the agent's start to the last of the ${n} index files on disk: ${fmt(indexSeconds, 1)} s, ` +
        `${fmt(ring.bytes / 1e6 / indexSeconds, 0)} MB/s of capture ` +
        `(${fmt(indexCpu.own + indexCpu.children, 1)} CPU s; peak RSS ${mib(indexMem.hwm)}; ` +
        `indexes ${fmt(indexBytes / 1e6, 0)} MB). The files were just written, so part of them ` +
        "came from the page cache (all of them when the ring fits in memory).",
      "",
      `### Idle, ${fmt(idle.wall, 0)} s after indexing finished`,
      "",
      "| measure | value | target |",
      "| --- | --- | --- |",
      `| CPU, agent + reaped children | ${fmt(cpuPercent, 3)}% of a core (${fmt((idle.own + idle.children) * 1000, 0)} ms) | < ${TARGET.cpuPercent}%: ${metOrNot(cpuMet)} |`,
      `| CPU, agent process only | ${fmt(ownPercent, 3)}% (${fmt(idle.own * 1000, 0)} ms) | |`,
      `| RSS at the end (VmRSS) | ${mib(idle.endMem.rss)} (${mib(idle.startMem.rss)} when idle began) | < ${TARGET.rssMiB} MiB: ${metOrNot(rssMet)} |`,
      `| peak RSS (VmHWM, includes indexing) | ${mib(idle.endMem.hwm)} | |`,
      `| heartbeats received | ${idle.heartbeats} (expected ${expectedBeats}–${expectedBeats + 1}) | |`,
      "",
      `Busiest seconds (CPU in that second): ${spikes(idle.perSecond) || "none"}. The last heartbeat ` +
        `reported ${heartbeatFiles} files and an agent RSS of ${mib(heartbeatRss)}.`,
      "",
      "CPU of each second of the window in ms (agent, + reaped children when any), ten seconds per group:",
      "",
      `\`${trace(idle.perSecond)}\``,
      "",
      `VmRSS every 10 s of the window: ${rssTrace(idle.perSecond)}.`,
    ].join("\n");
  } finally {
    await agent?.stop();
    await collector.stop();
    rmSync(work, { recursive: true, force: true });
    if (!keep && ring.dir !== "") rmSync(ring.dir, { recursive: true, force: true });
  }
}
