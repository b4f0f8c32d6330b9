// Index build benchmark (issue #3): `pcapfleet-agent index` on the 2.1 GB ring into a fresh state
// directory, against tcpdump's full scan of the same bytes (the pass an index saves later
// queries), in the same run, tools taking turns, every figure a median. Reports MB/s overall
// (wall) and per core (CPU time), the index size as a share of the capture, peak RSS, and a
// refresh of an up-to-date state directory. Checked in the same run: the index covers every
// packet of the ring, and a selective slice through the new indexes equals tcpdump's result.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { compare, loadNote, outputDir, warmCache } from "./lib/measure.mjs";
import { digestPcap } from "./lib/pcap-digest.mjs";
import { BENCH_DIR, ensureRing } from "./lib/ring.mjs";
import {
  AGENT,
  AGENT_BIN,
  agentSlice,
  emptyStore,
  referenceDigest,
  tcpdumpPerFile,
} from "./lib/slice-tools.mjs";

/** Timed runs per tool (after one warm-up); BENCH_RUNS overrides. */
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** Target of issue #3: index build throughput per core. */
const TARGET_PER_CORE = 300;

const mb = (bytes) => bytes / 1e6;
const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

/** The agent's `index` summary line, parsed. */
function summary(stdout) {
  const line = stdout.trim().split("\n").at(-1) ?? "";
  const packets = Number(/, (\d+) packets,/.exec(line)?.[1] ?? Number.NaN);
  return { line, packets };
}

/** Total size of the files in `dir`. */
function dirBytes(dir) {
  return readdirSync(dir).reduce((total, name) => total + statSync(join(dir, name)).size, 0);
}

/** The benchmark module: see the file comment. Returns its Markdown section. */
export default async function indexBench({ log }) {
  const ring = await ensureRing({}, log);
  const files = ring.files;
  const paths = files.map((f) => f.path);
  log(`ring ${ring.generated ? "generated" : "reused"}: ${files.length} files, ${fmt(mb(ring.bytes), 0)} MB`);
  warmCache(paths);
  const state = join(BENCH_DIR, `state-index-bench-${basename(ring.dir)}`);
  const fresh = join(BENCH_DIR, `state-index-bench-fresh-${basename(ring.dir)}`);
  const empty = emptyStore();
  const dir = outputDir(ring.bytes, join(BENCH_DIR, "out"));
  const work = join(dir, "pcapfleet-bench-index");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const filter = `host ${ring.host} and tcp`;
  const indexEntry = (name, stateDir, store, before) => ({
    name,
    command: AGENT_BIN,
    args: ["index", "--store", store, "--state", stateDir],
    before,
  });
  const wipe = (path) => () => rmSync(path, { recursive: true, force: true });
  const entries = [
    indexEntry("pcapfleet-agent index (fresh state)", state, ring.dir, wipe(state)),
    indexEntry("pcapfleet-agent index (start-up: empty store)", join(work, "empty-state"), empty, undefined),
    tcpdumpPerFile(`tcpdump \`${filter}\`, one \`-r\` per file (sum)`, paths, filter, join(work, "tcpdump")),
  ];
  let results;
  try {
    results = await compare(entries, { runs: RUNS, log: (line) => log(`index: ${line}`) });
    // An up-to-date state directory: every index is checked (identity, fingerprint), none rebuilt.
    rmSync(fresh, { recursive: true, force: true });
    execFileSync(process.execPath, [AGENT, "index", "--store", ring.dir, "--state", fresh]);
    const refresh = await compare([indexEntry("pcapfleet-agent index (up to date)", fresh, ring.dir)], {
      runs: RUNS,
      log: (line) => log(`refresh: ${line}`),
    });
    Object.assign(results, refresh);
    // Checks: every packet indexed, and a selective slice through the indexes equals tcpdump's.
    const built = summary(results[entries[0].name].stdouts.at(-1) ?? "");
    const upToDate = summary(refresh["pcapfleet-agent index (up to date)"].stdouts.at(-1) ?? "");
    const indexBytes = dirBytes(state);
    const slice = agentSlice("check", { stores: [ring.dir], filter, state, out: join(work, "check.pcap") });
    execFileSync(slice.command, slice.args, { stdio: ["ignore", "ignore", "pipe"] });
    const ours = digestPcap(join(work, "check.pcap"));
    const reference = referenceDigest(paths, join(work, "tcpdump"));
    const sliceOk = ours.packets === reference.packets && ours.sha256 === reference.sha256;
    const complete = built.packets === ring.packets;
    const index = results[entries[0].name];
    const startup = results[entries[1].name];
    const tcpdump = results[entries[2].name];
    const own = index.wall - startup.wall;
    const perCore = mb(ring.bytes) / index.cpu;
    log(
      `index build ${fmt(index.wall)} s (${fmt(mb(ring.bytes) / index.wall, 0)} MB/s, ${fmt(perCore, 0)} MB/s per core), ` +
        `index ${fmt((100 * indexBytes) / ring.bytes)}% of the capture, complete: ${complete}, slice check: ${sliceOk}`,
    );
    const rows = Object.entries(results).map(([name, r]) => {
      // Start-up and an up-to-date refresh do not read the capture: no throughput.
      const reads = !name.includes("start-up") && !name.includes("up to date");
      const rate = reads ? fmt(mb(ring.bytes) / r.wall, 0) : "–";
      const core = reads ? fmt(mb(ring.bytes) / r.cpu, 0) : "–";
      const ratio = name.includes("start-up") ? "–" : `${fmt(r.wall / tcpdump.wall)}×`;
      return `| ${name} | ${fmt(r.wall, 3)} s | ${rate} | ${fmt(r.cpu)} s | ${core} | ${fmt(r.rss / 2 ** 20, 0)} MiB | ${ratio} |`;
    });
    return [
      "## Index build (`pcapfleet-agent index` vs a tcpdump scan)",
      "",
      "`pcapfleet-agent index` builds the per-file indexes of the ring into a fresh (emptied) state",
      "directory; each tool runs as its own process on the ring in the page cache, the tools taking",
      "turns; figures are medians. MB/s is capture bytes per wall second; *per core* is capture bytes",
      "per CPU second (user + system, all threads). The yardstick is tcpdump's scan of the same",
      `bytes with the selective filter \`${filter}\` (one process per file, summed): the pass an`,
      "index spares every later query. *Start-up* is the same command on an empty store.",
      `Measured with ${loadNote()}.`,
      "",
      `Ring: ${files.length} files, ${fmt(mb(ring.bytes), 0)} MB, ${ring.packets} packets.`,
      "",
      "| command | median wall | MB/s | CPU (user+sys) | MB/s per core | peak RSS | time vs tcpdump scan |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      ...rows,
      "",
      `Last build: ${built.line.replace(/, state .*$/, "")}.`,
      `Index files: ${fmt(indexBytes / 2 ** 20, 1)} MiB, ${fmt((100 * indexBytes) / ring.bytes)}% of the capture bytes. ` +
        `Without start-up the build took ${fmt(own, 3)} s (${fmt(mb(ring.bytes) / own, 0)} MB/s).`,
      `Every packet indexed (${built.packets} of ${ring.packets}): ${complete ? "yes" : "**NO**"}. ` +
        `A selective slice (\`${filter}\`) through the new indexes has the same ${reference.packets} packets and ` +
        `record checksum as tcpdump's: ${sliceOk ? "yes" : "**NO**"}. The refresh found every index up to date: ` +
        `${upToDate.line.includes(`(0 built, 0 extended, ${files.length} fresh`) ? "yes" : `**no** (${upToDate.line})`}.`,
      "",
      `- Build ≥ ${TARGET_PER_CORE} MB/s per core: ${perCore >= TARGET_PER_CORE ? "**met**" : "**not met**"} ` +
        `(${fmt(perCore, 0)} MB/s per core, ${fmt(mb(ring.bytes) / index.wall, 0)} MB/s overall).`,
      `- Index size: ${fmt((100 * indexBytes) / ring.bytes)}% of the capture (ADR 0009 budget: 3%).`,
    ].join("\n");
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(fresh, { recursive: true, force: true });
  }
}
