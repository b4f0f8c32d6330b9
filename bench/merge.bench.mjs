// Merge benchmark: pcapfleet's k-way merge (pcap/src/merge, run as a Node process) against
// mergecap on the same inputs, in the same run, tools taking turns. Three cases:
//   - three sensors: three ~300 MB captures of the same time window (interleaved timestamps,
//     the collector's case when it merges one job's slices);
//   - three consecutive files of the benchmark ring (disjoint time ranges, a slice that spans
//     a rotation);
//   - the whole 2 GB ring (16 inputs), where the fixed cost of starting Node weighs less.
// Inputs are read once first (page cache); outputs go to tmpfs when it has room and are deleted
// between runs. Our output is checked byte for byte against `mergecap -F pcap`'s.
import { createReadStream, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compare, loadNote, median, outputDir, runOnce, warmCache } from "./lib/measure.mjs";
import { BENCH_DIR, ensureRing } from "./lib/ring.mjs";

const RUNNER = fileURLToPath(new URL("./lib/merge-runner.mjs", import.meta.url));
const SENSOR_BYTES = 300 * 1000 * 1000;
/** Timed runs per tool (after one warm-up); BENCH_RUNS overrides. The 2 GB case does fewer. */
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

const mb = (bytes) => bytes / 1e6;
const fmt = (n, digits = 2) => (Number.isNaN(n) ? "n/a" : n.toFixed(digits));

/** True when two files have the same bytes (streamed: the files are large). */
async function sameFile(a, b) {
  const chunks = async function* (path) {
    for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) yield chunk;
  };
  const left = chunks(a);
  const right = chunks(b);
  let x = Buffer.alloc(0);
  let y = Buffer.alloc(0);
  for (;;) {
    if (x.length === 0) x = (await left.next()).value ?? Buffer.alloc(0);
    if (y.length === 0) y = (await right.next()).value ?? Buffer.alloc(0);
    if (x.length === 0 || y.length === 0) return x.length === y.length;
    const n = Math.min(x.length, y.length);
    if (!x.subarray(0, n).equals(y.subarray(0, n))) return false;
    x = x.subarray(n);
    y = y.subarray(n);
  }
}

/** Times the merge of `paths` by every tool; returns a Markdown table and the parsed figures. */
async function mergeCase(title, paths, inputBytes, log, runs = RUNS) {
  warmCache(paths);
  const dir = outputDir(inputBytes * 2, join(BENCH_DIR, "out"));
  const out = (name) => join(dir, `pcapfleet-bench-merge-${name}`);
  const clean = (path) => () => rmSync(path, { force: true });
  const tool = (name, command, args, file) => ({
    name,
    command,
    args,
    before: clean(file),
    after: clean(file),
  });
  const entries = [
    tool("pcapfleet", process.execPath, [RUNNER, out("ours.pcap"), ...paths], out("ours.pcap")),
    tool(
      "pcapfleet --sync",
      process.execPath,
      [RUNNER, "--sync", out("sync.pcap"), ...paths],
      out("sync.pcap"),
    ),
    tool("mergecap -F pcap", "mergecap", ["-F", "pcap", "-w", out("ref.pcap"), ...paths], out("ref.pcap")),
    tool("mergecap (pcapng)", "mergecap", ["-w", out("ref.pcapng"), ...paths], out("ref.pcapng")),
  ];
  log(
    `${title}: ${paths.length} inputs, ${fmt(mb(inputBytes), 0)} MB, ${runs} runs per tool, output in ${dir}`,
  );
  const r = await compare(entries, { runs, log: (line) => log(`${title}: ${line}`) });
  // One more run of each for the byte-for-byte check (the timed runs deleted their outputs).
  const check = [entries[0], entries[2]];
  for (const e of check) {
    e.before();
    await runOnce(e.command, e.args);
  }
  const identical = await sameFile(out("ours.pcap"), out("ref.pcap"));
  for (const e of check) e.after();
  const ref = r["mergecap -F pcap"].wall;
  const runner = (name) => r[name].stdouts.map((s) => JSON.parse(s));
  const ours = runner("pcapfleet");
  const png = r["mergecap (pcapng)"].wall;
  const rows = entries.map(({ name }) => {
    const x = r[name];
    const speed = `${fmt(mb(inputBytes) / x.wall, 0)} | ${fmt(x.cpu)} s | ${fmt(x.rss / 2 ** 20, 0)} MiB`;
    return `| ${name} | ${fmt(x.wall)} s | ${speed} | ${fmt(ref / x.wall)}× | ${fmt(png / x.wall)}× |`;
  });
  const own = (list) => median(list.map((o) => o.seconds));
  const inProcess = own(ours);
  const inProcessSync = own(runner("pcapfleet --sync"));
  const startup = median([...ours, ...runner("pcapfleet --sync")].map((o) => o.startupSeconds));
  const lines = [
    `### ${title}`,
    "",
    `${paths.length} inputs, ${fmt(mb(inputBytes), 0)} MB, ${ours[0]?.packets ?? "?"} packets → one ${ours[0]?.format ?? "?"} file.`,
    `Output byte-identical to \`mergecap -F pcap\`'s: ${identical ? "yes" : "**no**"}.`,
    "",
    "| tool | median wall | MB/s | CPU (user+sys) | peak RSS | speed vs `mergecap -F pcap` | vs `mergecap` |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
    `pcapfleet's wall time includes Node start-up and module loading (median ${fmt(startup, 3)} s). ` +
      `The merge itself took ${fmt(inProcess, 3)} s (${fmt(mb(inputBytes) / inProcess, 0)} MB/s), ` +
      `${fmt(inProcessSync, 3)} s with \`--sync\` (${fmt(mb(inputBytes) / inProcessSync, 0)} MB/s).`,
  ];
  return { markdown: lines.join("\n"), speedup: ref / r.pcapfleet.wall, identical };
}

/** The benchmark module: see the file comment. Returns its Markdown section. */
export default async function mergeBench({ log }) {
  const ring = await ensureRing({}, log);
  const gen = ring.generation;
  log(
    `ring ${ring.generated ? "generated" : "reused"}: ${ring.files.length} files, ${fmt(mb(ring.bytes), 0)} MB ` +
      `(generated at ${fmt(gen.mbps, 0)} MB/s with ${gen.workers} workers)`,
  );
  // Three sensors at different sites capturing the same window: one single-file ring each.
  const sensors = await Promise.all(
    [11, 12, 13].map((seed) => ensureRing({ files: 1, fileBytes: SENSOR_BYTES, seed }, log)),
  );
  const sensorFiles = sensors.map((s) => s.files[0]);
  const consecutive = ring.files.slice(0, 3);
  const sum = (files) => files.reduce((total, f) => total + f.bytes, 0);
  const a = await mergeCase(
    "Three sensors, same time window",
    sensorFiles.map((f) => f.path),
    sum(sensorFiles),
    log,
  );
  const b = await mergeCase(
    "Three consecutive ring files",
    consecutive.map((f) => f.path),
    sum(consecutive),
    log,
  );
  // The whole ring: 16 inputs, where Node's fixed start-up weighs less. Fewer runs: 2 GB each.
  const c = await mergeCase(
    "Whole ring, 16 files",
    ring.files.map((f) => f.path),
    ring.bytes,
    log,
    5,
  );
  log(
    `speed vs mergecap -F pcap: ${fmt(a.speedup)}× (sensors), ${fmt(b.speedup)}× (ring files), ` +
      `${fmt(c.speedup)}× (whole ring)`,
  );
  return [
    "## Merge (`mergeCaptures` vs mergecap)",
    "",
    "k-way merge by timestamp into one capture. Each tool runs as its own process on inputs in the",
    "page cache, the tools taking turns; figures are medians. MB/s is input bytes per wall second.",
    "`pcapfleet` reads on the libuv thread pool (the library default, right for servers);",
    "`--sync` reads on the main thread (`syncReads`, for CLIs and batch work). `mergecap -F pcap`",
    "writes the same file as pcapfleet; plain `mergecap` writes pcapng (its default).",
    `Measured with ${loadNote()}.`,
    "",
    `Benchmark ring: ${ring.files.length} files × ${fmt(ring.spec.fileBytes / 2 ** 20, 0)} MiB ` +
      `(${fmt(mb(ring.bytes), 0)} MB, ${ring.packets} packets, subnets ${ring.subnets.join(", ")}), generated ` +
      `at ${fmt(gen.mbps, 0)} MB/s (${gen.workers} worker threads, ${fmt(gen.seconds, 1)} s) and cached in .bench/.`,
    "",
    a.markdown,
    "",
    b.markdown,
    "",
    c.markdown,
  ].join("\n");
}
