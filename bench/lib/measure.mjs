// Timing commands for benchmarks: every tool runs as its own process, the tools of one
// comparison take turns (ours, theirs, ours, theirs …) so a noisy neighbour slows both alike,
// and each figure is the median of the runs. Peak RSS and CPU time come from GNU time
// (`/usr/bin/time -f`) when installed; without it, peak RSS comes from polling
// /proc/<pid>/status (VmHWM, the kernel's own high-water mark) and CPU time is not reported.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, readSync, statfsSync } from "node:fs";
import { loadavg } from "node:os";

const GNU_TIME = "/usr/bin/time";
const hasGnuTime = existsSync(GNU_TIME);
const TIME_FORMAT = "BENCHTIME %e %U %S %M";

/** Reads files once so every tool is measured on bytes in the page cache. Returns bytes read. */
export function warmCache(paths) {
  const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
  let total = 0;
  for (const path of paths) {
    const fd = openSync(path, "r");
    try {
      for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) total += n;
    } finally {
      closeSync(fd);
    }
  }
  return total;
}

/**
 * A directory for benchmark outputs: tmpfs (/dev/shm) when it has room for `bytes`, so runs
 * measure the tools and not the disk's write-back; else `fallback`.
 */
export function outputDir(bytes, fallback) {
  try {
    const fs = statfsSync("/dev/shm");
    if (fs.bavail * fs.bsize > bytes * 1.5) return "/dev/shm";
  } catch {
    // no tmpfs here
  }
  return fallback;
}

/** Peak resident set of a running process in KiB (0 once it is gone). */
function peakRssKb(pid) {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Runs `command args` once: wall seconds (monotonic), CPU seconds, peak RSS bytes, stdout. */
export function runOnce(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const [cmd, argv] = hasGnuTime ? [GNU_TIME, ["-f", TIME_FORMAT, command, ...args]] : [command, args];
    const started = process.hrtime.bigint();
    const child = spawn(cmd, argv, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
    });
    let stdout = "";
    let stderr = "";
    let peakKb = 0;
    const poll = hasGnuTime ? null : setInterval(() => (peakKb = Math.max(peakKb, peakRssKb(child.pid))), 5);
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const wall = Number(process.hrtime.bigint() - started) / 1e9;
      if (poll !== null) clearInterval(poll);
      const line = hasGnuTime ? stderr.split("\n").find((l) => l.startsWith("BENCHTIME ")) : undefined;
      if (code !== 0) {
        reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${stderr.trim().slice(-500)}`));
        return;
      }
      if (line !== undefined) {
        const [, , user, sys, rssKb] = line.split(" ").map(Number);
        resolve({ wall, cpu: user + sys, rss: rssKb * 1024, stdout });
      } else {
        resolve({ wall, cpu: Number.NaN, rss: peakKb * 1024, stdout });
      }
    });
  });
}

/** Median of the numbers in `values` (NaN ignored; NaN when none). */
export function median(values) {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Measures competing commands, taking turns for `runs` rounds (after `warmup` unmeasured rounds).
 * Each entry: `{ name, command, args, env?, before?, after? }`; `before`/`after` run outside the
 * timing (e.g. delete the previous output). Returns, per name: median wall and CPU seconds, max
 * peak RSS, and every run's wall time and stdout.
 */
export async function compare(entries, { runs = 7, warmup = 1, log = () => undefined } = {}) {
  const results = new Map(entries.map((e) => [e.name, { walls: [], cpus: [], rss: 0, stdouts: [] }]));
  for (let round = -warmup; round < runs; round++) {
    for (const entry of entries) {
      await entry.before?.();
      const run = await runOnce(entry.command, entry.args, { env: entry.env });
      await entry.after?.(run);
      if (round < 0) continue;
      const r = results.get(entry.name);
      r.walls.push(run.wall);
      r.cpus.push(run.cpu);
      r.rss = Math.max(r.rss, run.rss);
      r.stdouts.push(run.stdout);
    }
    if (round >= 0) log(`round ${round + 1}/${runs} done`);
  }
  const out = {};
  for (const [name, r] of results) {
    out[name] = {
      wall: median(r.walls),
      cpu: median(r.cpus),
      rss: r.rss,
      walls: r.walls,
      stdouts: r.stdouts,
    };
  }
  return out;
}

/** One line describing the machine's load, for the report (benchmarks on a busy host vary). */
export function loadNote() {
  return `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" / ")} (1/5/15 min)`;
}

/** CPU seconds per GB SHA-256 costs one thread of this host (Node's OpenSSL, 256 KiB updates). */
export function sha256CpuPerGb() {
  const block = randomBytes(256 * 1024);
  const hash = createHash("sha256");
  const before = process.cpuUsage();
  const rounds = 2048; // 512 MiB
  for (let i = 0; i < rounds; i++) hash.update(block);
  hash.digest();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6 / ((rounds * block.length) / 1e9);
}
