// PCAP jobs end to end (issue #6, speed): the real `pcapfleet-collector run` and three real
// `pcapfleet-agent run` processes, each agent on its own generated ring, on this one machine.
// A job is timed from `POST /api/v1/jobs` to the last byte of `GET /jobs/{id}/pcap` (the result
// streamed through a SHA-256, not stored), polling the job every 20 ms in between. The yardstick is
// what an analyst does by hand with the same tools: `tcpdump -r FILE -w OUT EXPR` over every file
// of the three rings, then `mergecap` of the outputs (taking turns with pcapfleet, medians).
//
// Rings: three of RING_FILES × 128 MiB (default 14: 1.75 GiB each), same hosts and time span
// (seeds 250 apart keep the addresses). The selective and broad timings use a window covering the
// first 8 files of ring 1 (1 GiB per ring: the issue's "3 agents × 1 GB rings"); the memory run
// asks for every packet of the three whole rings (about 5 GB) and samples the collector's RSS every
// 50 ms while the result streams in (tasks), is merged, and streams out (download).
// Uses DATABASE_URL when set (a scratch database, created and dropped), else embedded PGlite.
// Env: BENCH_JOBS_RING_FILES (14), BENCH_JOBS_FILE_MIB (128; smaller for a smoke run),
// BENCH_JOBS_RUNS (5 selective; broad runs are 3).
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadNote, median, outputDir, runOnce, sha256CpuPerGb, warmCache } from "./lib/measure.mjs";
import { digestPcap } from "./lib/pcap-digest.mjs";
import { BENCH_DIR, DEFAULT_RING, ensureRing } from "./lib/ring.mjs";
import { AGENT_BIN, ensureIndexes } from "./lib/slice-tools.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
// The collector as npm installs it: its shell launcher (the allocator setting it runs with is part
// of the product, ADR 0015), which runs the `node` on PATH.
const COLLECTOR_BIN = join(ROOT, "collector", "bin", "pcapfleet-collector");
// The CLI as npm installs it: through its launcher, which gives it its V8 flags (ADR 0019).
const CLI_BIN = join(ROOT, "collector", "bin", "pcapfleet");
const RING_FILES = Number(process.env.BENCH_JOBS_RING_FILES ?? 14);
const FILE_MIB = Number(process.env.BENCH_JOBS_FILE_MIB ?? 128);
const WINDOW_FILES = Math.min(8, RING_FILES);
const RUNS = Number(process.env.BENCH_JOBS_RUNS ?? 5);
// A probe for profiling: only the broad query (BENCH_JOBS_ONLY=broad), the collector writing a CPU
// profile into BENCH_JOBS_PROFILE; its section is not a result.
const ONLY = process.env.BENCH_JOBS_ONLY ?? "";
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const fmt = (n, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : "–");
const mb = (bytes) => bytes / 1e6;

function rssOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Spawns `args` with `command` (node) and waits for `pattern` in its output; returns the match and the child. */
async function startProcess(args, env, pattern, what, command = process.execPath) {
  const proc = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let tail = "";
  const keep = (chunk) => {
    tail = (tail + chunk).slice(-16384);
  };
  proc.stdout.on("data", keep);
  proc.stderr.on("data", keep);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const match = pattern.exec(tail);
    if (match !== null) return { proc, match, tail: () => tail };
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`${what} did not start:\n${tail}`);
    }
    await sleep(50);
  }
}

async function stopProcess(proc) {
  if (proc.exitCode !== null) return;
  proc.kill("SIGTERM");
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  if ((await Promise.race([exited, sleep(20_000).then(() => "timeout")])) === "timeout") proc.kill("SIGKILL");
}

/** fetch, once more when a kept-alive connection was closed under the request. */
async function fetchRetry(url, init) {
  try {
    return await fetch(url, init);
  } catch (error) {
    if (error.cause?.code !== "UND_ERR_SOCKET") throw error;
    return fetch(url, init);
  }
}

/** The collector's HTTP API with an admin token. */
function client(http, token) {
  return async (path, init = {}) => {
    const response = await fetchRetry(`${http}/api/v1${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        ...(init.headers ?? {}),
      },
    });
    return { status: response.status, body: await response.json() };
  };
}

/** Submits `spec`, waits for the job, downloads the result through a hash. */
async function runJob(
  api,
  http,
  token,
  spec,
  onTick = () => undefined,
  saveTo = undefined,
  onPhase = () => undefined,
) {
  const t0 = performance.now();
  let tasksEnded = false;
  const submitted = await api("/jobs", { method: "POST", body: JSON.stringify(spec) });
  if (submitted.status !== 201) throw new Error(`submit failed: ${JSON.stringify(submitted.body)}`);
  const id = submitted.body.id;
  let job;
  for (;;) {
    onTick();
    job = (await api(`/jobs/${id}`)).body;
    if (!tasksEnded && job.tasks?.length > 0 && job.tasks.every((t) => t.finished_at !== null)) {
      tasksEnded = true;
      onPhase("tasks");
    }
    if (["complete", "partial", "failed", "cancelled"].includes(job.status)) break;
    await sleep(20);
  }
  const t1 = performance.now();
  onPhase("merge");
  if (job.status !== "complete") throw new Error(`job ${id} ended ${job.status}: ${job.error_message}`);
  const response = await fetchRetry(`${http}/api/v1/jobs/${id}/pcap`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const hash = createHash("sha256");
  let bytes = 0;
  const file = saveTo === undefined ? undefined : openSync(saveTo, "w");
  for await (const chunk of response.body) {
    hash.update(chunk);
    bytes += chunk.length;
    if (file !== undefined) writeSync(file, chunk);
    onTick();
  }
  if (file !== undefined) closeSync(file);
  const t2 = performance.now();
  onPhase("download");
  const sha256 = hash.digest("hex");
  if (sha256 !== job.result.sha256 || bytes !== job.result.bytes)
    throw new Error(`job ${id}: download does not match the result`);
  const started = Math.min(...job.tasks.map((t) => Date.parse(t.started_at)));
  const ended = Math.max(...job.tasks.map((t) => Date.parse(t.finished_at)));
  return {
    id,
    job,
    total: (t2 - t0) / 1000,
    untilDone: (t1 - t0) / 1000,
    download: (t2 - t1) / 1000,
    taskBytes: job.tasks.reduce((n, t) => n + t.bytes, 0),
    taskSeconds: (ended - started) / 1000,
    bytes,
  };
}

/** The manual way: tcpdump per file of every ring, then mergecap; a shell script, timed as one process. */
function manualScript(files, filter, outDir, window) {
  const script = join(outDir, "manual.sh");
  const parts = files.map((_f, i) => join(outDir, `part-${i}.pcap`));
  const lines = files.map(
    (f, i) => `tcpdump -r '${f}' -w '${parts[i]}' ${filter === "" ? "" : `'${filter}'`} 2>/dev/null`,
  );
  lines.push(`mergecap -F pcap -w '${join(outDir, "manual.pcap")}' ${parts.map((p) => `'${p}'`).join(" ")}`);
  lines.push(`rm -f ${parts.map((p) => `'${p}'`).join(" ")}`);
  writeFileSync(script, `set -e\n${lines.join("\n")}\n`);
  return { script, out: join(outDir, "manual.pcap"), window };
}

export default async function jobsBench({ log }) {
  const rings = [];
  for (let i = 0; i < 3; i++) {
    rings.push(
      await ensureRing(
        { files: RING_FILES, fileBytes: FILE_MIB * 2 ** 20, seed: DEFAULT_RING.seed + 250 * (i + 1) * 20 },
        log,
      ),
    );
    log(`ring ${i + 1}: ${rings[i].files.length} files, ${fmt(mb(rings[i].bytes) / 1000)} GB`);
  }
  const work = join(BENCH_DIR, "jobs");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  // A directory of this run's own: other benchmarks write fixed names into /dev/shm too.
  const out = join(outputDir(8e9, work), `pcapfleet-jobs-${process.pid}`);
  mkdirSync(out, { recursive: true });
  for (const [i, ring] of rings.entries())
    log(`indexes ${i + 1}: ${ensureIndexes([ring.dir], join(BENCH_DIR, `jobs-state-${i}`))}`);
  const serverUrl = process.env.DATABASE_URL || undefined;
  let admin;
  let databaseUrl;
  if (serverUrl !== undefined) {
    const pg = await import("pg");
    const database = `pcapfleet_bench_${randomBytes(4).toString("hex")}`;
    admin = new pg.default.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database}"`);
    const url = new URL(serverUrl);
    url.pathname = `/${database}`;
    databaseUrl = url.toString();
    admin.database = database;
  }
  const password = randomBytes(12).toString("hex");
  const dataDir = join(work, "data");
  const configFile = join(work, "collector.yaml");
  writeFileSync(configFile, `logLevel: warn\njobs:\n  defaultMaxBytes: ${20 * 1024 ** 3}\n`);
  const env = {
    PCAPFLEET_HTTP_LISTEN: "127.0.0.1:0",
    PCAPFLEET_GRPC_LISTEN: "127.0.0.1:0",
    PCAPFLEET_DATA_DIR: dataDir,
    PCAPFLEET_ADMIN_PASSWORD: password,
    DATABASE_URL: databaseUrl ?? "",
    REDIS_URL: "",
  };
  const processes = [];
  const tails = [];
  try {
    // Node takes --cpu-prof only on its command line: through the launcher's PCAPFLEET_V8_FLAGS,
    // after the flags it gives by default (read from the launcher, so they stay its own).
    const profiled = (launcher) => {
      if (!process.env.BENCH_JOBS_PROFILE) return {};
      const defaults = /PCAPFLEET_V8_FLAGS-([^}]*)\}/.exec(readFileSync(launcher, "utf8"))?.[1] ?? "";
      return {
        PCAPFLEET_V8_FLAGS: `${defaults} --cpu-prof --cpu-prof-dir ${process.env.BENCH_JOBS_PROFILE}`,
      };
    };
    const collector = await startProcess(
      ["run", "--config", configFile],
      { ...env, ...profiled(COLLECTOR_BIN) },
      /Dashboard: (http:\/\/\S+?)\/?\n[\s\S]*gRPC: (\S+)\n/,
      "collector",
      COLLECTOR_BIN,
    );
    processes.push(collector.proc);
    tails.push(["collector", collector.tail]);
    const [, http, grpc] = collector.match;
    for (const [i, ring] of rings.entries()) {
      const config = join(work, `agent-${i}.yaml`);
      writeFileSync(
        config,
        [
          `sensor: bench-${i + 1}`,
          `location: site-${i + 1}`,
          `stores: ["${ring.dir}"]`,
          `stateDir: "${join(BENCH_DIR, `jobs-state-${i}`)}"`,
          `collector: "${grpc}"`,
          "listen: 127.0.0.1:0",
          "heartbeatS: 1",
          "logLevel: warn",
        ].join("\n"),
      );
      // The agent as npm installs it too: its launcher gives the daemon its V8 flags (ADR 0019).
      const agent = await startProcess(
        ["run", "--config", config],
        {
          PCAPFLEET_STORE: "",
          PCAPFLEET_COLLECTOR: "",
          ...profiled(AGENT_BIN),
        },
        /serving on (\S+)/,
        `agent ${i + 1}`,
        AGENT_BIN,
      );
      processes.push(agent.proc);
      tails.push([`agent ${i + 1}`, agent.tail]);
    }
    const login = await fetch(`${http}/api/v1/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password }),
    });
    const token = (await login.json()).access_token;
    const api = client(http, token);
    for (const deadline = Date.now() + 120_000; ; ) {
      const { body } = await api("/sensors");
      if (body.sensors.filter((s) => s.status !== "offline" && s.pcap_newest_at !== null).length === 3) break;
      if (Date.now() > deadline) throw new Error("sensors did not come online");
      await sleep(200);
    }
    for (const ring of rings) warmCache(ring.files.map((f) => f.path));
    const windowEnd = rings[0].files[WINDOW_FILES - 1].last;
    const windowFrom = rings[0].start;
    const iso = ([sec, nsec]) => new Date(sec * 1000 + Math.floor(nsec / 1e6)).toISOString();
    // The window's end is exclusive: one ms past the last packet of file WINDOW_FILES.
    const window = {
      start_time: iso(windowFrom),
      end_time: new Date(Date.parse(iso(windowEnd)) + 1).toISOString(),
    };
    const digestWindow = {
      from: [Math.floor(Date.parse(window.start_time) / 1000), (Date.parse(window.start_time) % 1000) * 1e6],
      to: [Math.floor(Date.parse(window.end_time) / 1000), (Date.parse(window.end_time) % 1000) * 1e6],
    };
    const windowFiles = rings.flatMap((r) =>
      r.files
        .filter(
          (f) =>
            f.first[0] < digestWindow.to[0] ||
            (f.first[0] === digestWindow.to[0] && f.first[1] < digestWindow.to[1]),
        )
        .map((f) => f.path),
    );
    const sensors = ["bench-1", "bench-2", "bench-3"];
    const load = loadNote();
    // Probe only: CPU seconds of each process (collector, agents) at each phase's end.
    let phaseHook = () => undefined;

    const timed = async (name, spec, filter, runs, onStart = () => undefined) => {
      const manual = manualScript(windowFiles, filter, out, digestWindow);
      const ours = [];
      const theirs = [];
      let last;
      const saved = join(out, "ours.pcap");
      for (let round = -1; round < runs; round++) {
        onStart();
        const run = await runJob(api, http, token, spec, undefined, round < 0 ? saved : undefined, phaseHook);
        rmSync(join(dataDir, "jobs", run.id), { recursive: true, force: true });
        const ref = await runOnce("sh", [manual.script]);
        if (round < 0) {
          const expected = digestPcap(manual.out, digestWindow);
          const got = digestPcap(saved);
          rmSync(saved, { force: true });
          last = { run, same: expected.packets === got.packets && expected.sha256 === got.sha256 };
          continue;
        }
        ours.push(run);
        theirs.push(ref.wall);
        log(`${name} ${round + 1}/${runs}: ${fmt(run.total, 3)} s (manual ${fmt(ref.wall, 3)} s)`);
      }
      rmSync(manual.out, { force: true });
      return { ours, theirs, last };
    };

    // CPU seconds of every process (collector, then agents) at each phase's end of every run.
    const cpuOf = (pid) => {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      return (Number(fields[11]) + Number(fields[12])) / 100;
    };
    const phases = [];
    let marks = {};
    // Probe only: user and system CPU seconds per thread name of each process, at each phase's end.
    let threadMarks = {};
    const threadsOf = (pid) => {
      const out = {};
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try {
          const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
          const name =
            tid === String(pid)
              ? "main"
              : `${text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"))}:${tid}`;
          const fields = text.slice(text.lastIndexOf(") ") + 2).split(" ");
          const before = out[name] ?? { user: 0, system: 0 };
          out[name] = {
            user: before.user + Number(fields[11]) / 100,
            system: before.system + Number(fields[12]) / 100,
          };
        } catch {
          // The thread ended meanwhile.
        }
      }
      return out;
    };
    const markStart = () => {
      marks = { start: processes.map((p) => cpuOf(p.pid)) };
      if (ONLY === "broad") threadMarks = { start: processes.map((p) => threadsOf(p.pid)) };
    };
    const recordPhases = (phase) => {
      marks[phase] = processes.map((p) => cpuOf(p.pid));
      if (ONLY === "broad") threadMarks[phase] = processes.map((p) => threadsOf(p.pid));
      if (phase === "download") phases.push(marks);
    };
    /** Per process, CPU s per GB of result in `from`..`to`, medians over `runs` (phases[] entries). */
    const cpuPerGb = (runs, from, to, gb) =>
      processes.map((_p, k) => median(runs.map((m) => (m[to][k] - m[from][k]) / gb)));
    const sum = (values) => values.reduce((a, b) => a + b, 0);

    if (ONLY === "broad") {
      phaseHook = recordPhases;
      const probe = await timed("broad", { ...window, sensors }, "", RUNS, markStart);
      const o = probe.ours.map((r, i) => {
        // phases[0] is the warm-up run's.
        const m = phases[i + 1];
        const diff = (a, b) => m[b].map((v, k) => fmt(v - m[a][k], 1)).join("/");
        return (
          `${fmt(r.total, 2)} s: tasks ${fmt(mb(r.taskBytes / r.taskSeconds), 0)} MB/s (${fmt(r.taskSeconds, 2)} s), until done ${fmt(r.untilDone, 2)} s, download ${fmt(r.download, 2)} s; ` +
          `CPU s collector/agents: tasks ${diff("start", "tasks")}, merge ${diff("tasks", "merge")}, download ${diff("merge", "download")}`
        );
      });
      const tasksByThread = processes.map((_p, k) => {
        const a = threadMarks.start[k];
        const b = threadMarks.tasks[k];
        return Object.keys(b)
          .map((name) => {
            const user = b[name].user - (a[name]?.user ?? 0);
            const system = b[name].system - (a[name]?.system ?? 0);
            return [name, user, system];
          })
          .filter(([, user, system]) => user + system >= 0.05)
          .map(([name, user, system]) => `${name} ${fmt(user, 2)}u+${fmt(system, 2)}s`)
          .join(", ");
      });
      return `## probe (${load})\n\n${o.join("\n")}\n\nlast run's tasks phase by thread (collector, agents):\n${tasksByThread.join("\n")}`;
    }
    // Memory: every packet of the whole rings, about 5 GB, in and out.
    const memoryRun = async () => {
      let peak = 0;
      // And per phase (tasks, merge, download): which part of the job holds the memory.
      let phasePeak = 0;
      const phasePeaks = {};
      const pid = collector.proc.pid;
      const sample = () => {
        const rss = rssOf(pid);
        peak = Math.max(peak, rss);
        phasePeak = Math.max(phasePeak, rss);
      };
      const sampler = setInterval(sample, 50);
      const whole = {
        start_time: iso(rings[0].start),
        end_time: new Date(
          Date.parse(iso(rings.map((r) => r.end).sort((a, b) => b[0] - a[0])[0])) + 1000,
        ).toISOString(),
      };
      const big = await runJob(api, http, token, { ...whole, sensors }, sample, undefined, (phase) => {
        sample();
        phasePeaks[phase] = phasePeak;
        phasePeak = 0;
      });
      clearInterval(sampler);
      const idleRss = rssOf(pid);
      // The same result through the CLI: gRPC DownloadPcap, written and SHA-256-checked by it.
      const cliOut = join(out, "cli.pcap");
      const cli = await runOnce(CLI_BIN, [
        "jobs",
        "download",
        big.id,
        "-o",
        cliOut,
        "--collector",
        grpc,
        "--token",
        token,
      ]);
      rmSync(cliOut, { force: true });
      rmSync(join(dataDir, "jobs", big.id), { recursive: true, force: true });
      return { big, peak, phasePeaks, idleRss, cli };
    };
    if (ONLY === "memory") {
      const m = await memoryRun();
      const mib = (bytes) => fmt(bytes / 2 ** 20, 0);
      return `## probe (${load})\n\nmemory run: ${fmt(m.big.total, 1)} s, collector peak RSS ${mib(m.peak)} MiB (tasks ${mib(m.phasePeaks.tasks ?? 0)}, merge ${mib(m.phasePeaks.merge ?? 0)}, download ${mib(m.phasePeaks.download ?? 0)}), ${mib(m.idleRss)} MiB after; CLI download ${fmt(m.cli.wall, 1)} s (${fmt(mb(m.big.bytes / m.cli.wall), 0)} MB/s, ${fmt(m.cli.cpu ?? Number.NaN)} CPU s, peak RSS ${mib(m.cli.rss ?? 0)} MiB)`;
    }
    const selective = await timed(
      "selective",
      { ...window, src_ip: rings[0].host, sensors },
      `host ${rings[0].host}`,
      RUNS,
    );
    phaseHook = recordPhases;
    const broad = await timed("broad", { ...window, sensors }, "", 3, markStart);
    phaseHook = () => undefined;
    // The timed broad runs (phases[0] is the warm-up's): CPU s per GB of result, per phase.
    const broadGb = broad.last.run.bytes / 1e9;
    const timedPhases = phases.slice(1);
    const taskCpu = cpuPerGb(timedPhases, "start", "tasks", broadGb);
    const mergeCpu = cpuPerGb(timedPhases, "tasks", "merge", broadGb);
    const downloadCpu = cpuPerGb(timedPhases, "merge", "download", broadGb);
    const shaCost = sha256CpuPerGb();
    const shaNi = / sha_ni( |$)/m.test(readFileSync("/proc/cpuinfo", "utf8"));

    const { big, peak, phasePeaks, idleRss, cli } = await memoryRun();

    const med = (runs, key) => median(runs.map((r) => r[key]));
    const rows = [
      [`selective: \`host ${rings[0].host}\``, selective],
      ["broad: every packet", broad],
    ].map(([label, r]) => {
      const total = med(r.ours, "total");
      const manual = median(r.theirs);
      const bytes = r.last.run.bytes;
      const rate = med(
        r.ours.map((o) => ({ v: o.taskBytes / o.taskSeconds })),
        "v",
      );
      return `| ${label} | ${r.last.run.job.result.packets} | ${fmt(mb(bytes), 1)} MB | ${fmt(total, 3)} s | ${fmt(med(r.ours, "untilDone"), 3)} s | ${fmt(med(r.ours, "download"), 3)} s | ${fmt(mb(rate), 0)} MB/s | ${fmt(manual, 3)} s | ${fmt(manual / total, 2)}× | ${r.last.same ? "yes" : "**no**"} |`;
    });
    const selTotal = med(selective.ours, "total");
    const broadRate = median(broad.ours.map((o) => o.taskBytes / o.taskSeconds));
    const broadE2e = median(broad.ours.map((o) => o.taskBytes / o.total));
    return [
      "## PCAP jobs end to end (collector + 3 agents, issue #6)",
      "",
      `Real processes on this machine: \`pcapfleet-collector run\` (${databaseUrl === undefined ? "embedded PGlite" : "PostgreSQL, scratch database"}) and three \`pcapfleet-agent run\`, each on its own ring (indexes built beforehand, rings in the page cache). *End to end* is \`POST /jobs\` to the last byte of \`GET /jobs/{id}/pcap\` (streamed through a SHA-256 that must equal the job's); *until complete* ends when the job reports complete (tasks streamed to the result store, merged, analysed); *tasks MB/s* is the bytes the three tasks delivered over the time from the first task's start to the last one's end. *By hand* is \`tcpdump -r FILE -w OUT EXPR\` over each file of the three rings in the window, then \`mergecap\`, one shell script, taking turns with pcapfleet; medians of ${RUNS} runs (broad: 3) after a warm-up. Same packets as by hand is checked on the warm-up run: packet count and SHA-256 over every record of the result equal those of the by-hand output's packets in the window.`,
      `Measured with ${load}.`,
      "",
      `Rings: 3 × ${RING_FILES} files of ${FILE_MIB} MiB (${fmt(mb(rings[0].bytes) / 1000)} GB each); window: the first ${WINDOW_FILES} files of ring 1 (${window.start_time} – ${window.end_time}), about 1 GB per ring.`,
      "",
      "| query | packets | result | end to end | until complete | download | tasks MB/s | by hand (tcpdump + mergecap) | vs by hand | same packets |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
      ...rows,
      "",
      `Memory: every packet of the three whole rings (${fmt(mb(big.bytes) / 1000, 2)} GB result, ${big.job.result.packets} packets): end to end ${fmt(big.total, 1)} s (tasks ${fmt(mb(big.taskBytes / big.taskSeconds), 0)} MB/s, download ${fmt(mb(big.bytes / big.download), 0)} MB/s); collector peak RSS ${fmt(peak / 2 ** 20, 0)} MiB (sampled every 50 ms; by phase: ${["tasks", "merge", "download"].map((p) => `${p} ${fmt((phasePeaks[p] ?? 0) / 2 ** 20, 0)}`).join(", ")} MiB), ${fmt(idleRss / 2 ** 20, 0)} MiB after. The same result through the CLI (\`pcapfleet jobs download ID -o FILE\`: gRPC \`DownloadPcap\`, written and checked against the job's SHA-256 by the CLI, a process of its own): ${fmt(cli.wall, 1)} s, ${fmt(mb(big.bytes / cli.wall), 0)} MB/s${cli.cpu === undefined ? "" : `, ${fmt(cli.cpu / (big.bytes / 1e9))} CPU s/GB, peak RSS ${fmt(cli.rss / 2 ** 20, 0)} MiB`}.`,
      "",
      `- Selective host query downloadable in under 2 s end to end: **${selTotal < 2 ? "met" : "not met"}** (${fmt(selTotal, 3)} s).`,
      `- Broad query at least 300 MB/s aggregate: **${broadRate >= 300e6 ? "met" : "not met"}** (tasks ${fmt(mb(broadRate), 0)} MB/s; end to end including merge and download ${fmt(mb(broadE2e), 0)} MB/s). On this host at most ${fmt(2e3 / sum(taskCpu), 0)} MB/s with the CPU the tasks phase took per GB on two cores, and at most ${fmt(2e3 / (2 * shaCost), 0)} MB/s for the hashing alone (below).`,
      `- Collector RSS under 250 MB while a 5 GB result streams in and out: **${peak < 250e6 && big.bytes >= 4.5e9 ? "met" : "not met"}** (peak ${fmt(peak / 1e6, 0)} MB, result ${fmt(mb(big.bytes) / 1000, 2)} GB).`,
      "",
      `CPU per GB of result in the broad runs (user + system from /proc, medians of the 3 runs): tasks phase: collector ${fmt(taskCpu[0])} s, agents ${taskCpu
        .slice(1)
        .map((v) => fmt(v))
        .join(
          " / ",
        )} s, all four ${fmt(sum(taskCpu))} s; merge and analysis: collector ${fmt(mergeCpu[0])} s (agents idle: ${fmt(sum(mergeCpu.slice(1)))} s for heartbeats); download: collector ${fmt(downloadCpu[0])} s (the benchmark client's own SHA-256 not counted). SHA-256 costs one thread of this CPU ${fmt(shaCost)} s/GB (${shaNi ? "with" : "no"} SHA extensions); custody hashes every byte twice during the tasks phase (the agent for SliceDone, the collector for the task file, each on a thread of its own) and once more in the merge (the result). Two cores can give the tasks phase at most 2 / (CPU s per GB of all four processes) GB/s; the two hashes alone need ${fmt(2 * shaCost)} s/GB of it.`,
    ].join("\n");
  } catch (error) {
    const said = tails.map(([name, tail]) => `--- ${name}:\n${tail().slice(-4000)}`).join("\n");
    throw new Error(`${error.message}\n${said}`, { cause: error });
  } finally {
    for (const proc of processes.reverse()) await stopProcess(proc);
    if (admin !== undefined) {
      await admin.query(`DROP DATABASE IF EXISTS "${admin.database}" WITH (FORCE)`).catch(() => undefined);
      await admin.end();
    }
    rmSync(join(work, "data"), { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
}
