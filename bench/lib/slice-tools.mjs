// The commands the slice and index benchmarks time, and their reference outputs:
//   - `pcapfleet-agent slice|index` (the built CLI, as users run it);
//   - tcpdump over a ring the only way it can read one: one `tcpdump -r FILE -w OUT EXPR` process
//     per file, one after the other (timed as one shell loop: the sum), or `tcpdump -V LIST`
//     (tcpdump 4.99 reads a list of files in one process; its output is their concatenation);
//   - the reference a slice must equal: the per-file tcpdump outputs merged by `mergecap -F pcap`,
//     then the window applied (tcpdump has no time window), digested by pcap-digest.mjs.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadIndex } from "../../pcap/dist/index-file/index.js";
import { digestPcap } from "./pcap-digest.mjs";
import { BENCH_DIR } from "./ring.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The agent's launcher script, run with the current Node (daemons, profiling). */
export const AGENT = join(root, "agent", "bin", "pcapfleet-agent.js");
/** npm's bin of the agent (`npx pcapfleet-agent`, a global install): how users run the CLI. */
export const AGENT_BIN = join(root, "agent", "bin", "pcapfleet-agent");
/** The in-process slice timer (see slice-runner.mjs). */
const RUNNER = join(root, "bench", "lib", "slice-runner.mjs");

/** tcpdump drops root privileges before writing; `-Z root` keeps it able to write our output dirs. */
const TCPDUMP_USER = process.getuid?.() === 0 ? ["-Z", "root"] : [];

/** `--from/--to` arguments for a window of `[sec, nsec]` pairs (either may be null). */
export function windowArgs(window = {}) {
  const instant = ([sec, nsec]) => `${sec}.${String(nsec).padStart(9, "0")}`;
  return [
    ...(window.from ? ["--from", instant(window.from)] : []),
    ...(window.to ? ["--to", instant(window.to)] : []),
  ];
}

/** A `compare()` entry running `pcapfleet-agent slice`. */
export function agentSlice(name, { stores, filter, window, state, out }) {
  return {
    name,
    command: AGENT_BIN,
    args: [
      "slice",
      ...stores.flatMap((store) => ["--store", store]),
      ...(filter ? ["--filter", filter] : []),
      ...windowArgs(window),
      "-w",
      out,
      "--state",
      state,
    ],
  };
}

/**
 * A `compare()` entry running the slice runner: the same slice as {@link agentSlice} (one store),
 * its own time measured inside the process (printed as JSON).
 */
export function runnerSlice(name, { store, filter, window, state, out }) {
  const instant = ([sec, nsec]) => `${sec}.${String(nsec).padStart(9, "0")}`;
  const bounds = window?.from && window?.to ? [instant(window.from), instant(window.to)] : [];
  return { name, command: process.execPath, args: [RUNNER, store, state, out, filter ?? "", ...bounds] };
}

/**
 * A `compare()` entry running tcpdump once per file, sequentially, each writing
 * `outDir/<file name>`: its wall time is the sum of the per-file runs.
 */
export function tcpdumpPerFile(name, files, filter, outDir) {
  const script = [
    'for f in "$@"; do',
    `  tcpdump ${TCPDUMP_USER.join(" ")} -r "$f" -w "$BENCH_OUT/$(basename "$f")" $\{BENCH_EXPR:+"$BENCH_EXPR"} 2>/dev/null || exit 1`,
    "done",
  ].join("\n");
  return {
    name,
    command: "sh",
    args: ["-c", script, "sh", ...files],
    env: { BENCH_OUT: outDir, BENCH_EXPR: filter ?? "" },
    before: () => {
      rmSync(outDir, { recursive: true, force: true });
      mkdirSync(outDir, { recursive: true });
    },
  };
}

/** A `compare()` entry running one `tcpdump -V LIST -w OUT EXPR` over every file. */
export function tcpdumpList(name, files, filter, listPath, out) {
  writeFileSync(listPath, `${files.join("\n")}\n`);
  return {
    name,
    command: "tcpdump",
    args: [...TCPDUMP_USER, "-V", listPath, "-w", out, ...(filter ? [filter] : [])],
  };
}

/**
 * The reference digest: the per-file tcpdump outputs in `outDir` (named after `files`) merged
 * by mergecap in timestamp order, keeping the packets of `window`.
 */
export function referenceDigest(files, outDir, window) {
  const merged = join(outDir, "merged.pcap");
  const parts = files.map((f) => join(outDir, basename(f)));
  execFileSync("mergecap", ["-F", "pcap", "-w", merged, ...parts]);
  try {
    return digestPcap(merged, window);
  } finally {
    rmSync(merged, { force: true });
  }
}

/**
 * Builds (or refreshes) the indexes of `stores` in `state` with the agent, untimed. Returns the
 * command's summary line.
 */
export function ensureIndexes(stores, state) {
  const out = execFileSync(process.execPath, [
    AGENT,
    "index",
    ...stores.flatMap((s) => ["--store", s]),
    "--state",
    state,
  ]).toString();
  return out.trim().split("\n").at(-1) ?? "";
}

/** An empty store directory (a CLI slicing it measures start-up: Node, modules, filter compile). */
export function emptyStore() {
  const dir = join(BENCH_DIR, "empty-store");
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
  return dir;
}

/**
 * A store of `count` consecutive files of `ring` from `first`, as symlinks: same inodes, so the
 * same indexes (an index is named after the capture's real path) and the same page cache.
 */
export function subsetStore(ring, first, count) {
  const files = ring.files.slice(first, first + count);
  const dir = join(BENCH_DIR, `${basename(ring.dir)}-files-${first}-${first + count - 1}`);
  const intact = existsSync(dir) && files.every((f) => existsSync(join(dir, basename(f.path))));
  if (!intact) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const f of files) symlinkSync(f.path, join(dir, basename(f.path)));
  }
  return { dir, files };
}

/**
 * Hosts for queries with few and many matches, read from the index of the ring's middle file:
 * the IPv4 address with the fewest packets and the one with the most among those the index keeps
 * lists for (not dense), both inside the ring's subnets.
 */
export async function pickHosts(ring, state) {
  const index = await loadIndex(state, ring.files[ring.files.length >> 1].path);
  if (index === undefined) throw new Error("pickHosts: the ring is not indexed");
  const family = index.families.ip4;
  const prefixes = ring.subnets.map((cidr) => cidr.split("/")[0].split(".").slice(0, 3).join("."));
  let few = null;
  let many = null;
  for (let i = 0; i < family.size; i++) {
    const k = family.keys[i];
    const ip = [k >>> 24, (k >>> 16) & 255, (k >>> 8) & 255, k & 255].join(".");
    if (family.dense[i] === 1 || !prefixes.some((p) => ip.startsWith(`${p}.`))) continue;
    const count = family.counts[i];
    if (few === null || count < few.count) few = { ip, count };
    if (many === null || count > many.count) many = { ip, count };
  }
  if (few === null || many === null) throw new Error("pickHosts: no host of the ring's subnets in its index");
  return { few: few.ip, many: many.ip };
}
