// Slice benchmark (issue #3): `pcapfleet-agent slice` against tcpdump on the 2.1 GB ring, in the
// same run, tools taking turns, every figure a median. Cases:
//   - a selective query (`host X and tcp`, X a client with ~1.5% of the packets, whole ring),
//     with indexes, without, and tcpdump's full scan;
//   - how its time grows: the same query on a 4-file subset, on the 16 files with the subset's
//     window (same result, 4× the store), and queries with few and many matches;
//   - a broad query (`tcp port 443`), which indexes cannot narrow;
//   - a 60 s window in the middle of the ring, without a filter and with one.
// Start-up is the same CLI slicing an empty store (Node, module loading, filter compilation):
// "own work" is the median wall time minus the median start-up. Every pcapfleet output is
// checked against the reference (per-file tcpdump outputs merged by mergecap, then the window).
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { loadNote, median, outputDir, warmCache } from "./lib/measure.mjs";
import { BENCH_DIR, ensureRing } from "./lib/ring.mjs";
import { ROW, sliceCase } from "./lib/slice-case.mjs";
import { emptyStore, ensureIndexes, pickHosts, subsetStore } from "./lib/slice-tools.mjs";

/**
 * Timed runs per tool (after one warm-up); BENCH_RUNS overrides. The sub-second cases take 9 (on a
 * shared 2-core host a difference of two medians of 5 moves by tens of ms); cases with GB
 * outputs take 5.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const BIG_RUNS = Math.min(RUNS, 5);
/** Targets of issue #3. */
const TARGET = { ownSpeedup: 20, wallSpeedup: 3, broadRatio: 1.5, rssMiB: 150 };

const mb = (bytes) => bytes / 1e6;
const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const ms = (seconds) => `${fmt(seconds * 1000, 0)} ms`;
const metOrNot = (ok) => (ok ? "**met**" : "**not met**");
const sum = (files) => files.reduce((total, f) => total + f.bytes, 0);

/** `[sec, nsec]` plus `ns` nanoseconds. */
function addNs([sec, nsec], ns) {
  const total = nsec + ns;
  return [sec + Math.floor(total / 1e9), total % 1e9];
}

/** The rows of one case as a Markdown table; speeds compare with tcpdump's per-file sum. */
function table(c, storeBytes) {
  const ref = c.results[ROW.perFile].wall;
  const lines = [
    "| tool | median wall | MB/s of store | CPU (user+sys) | peak RSS | speed vs tcpdump (per file) |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const [name, r] of Object.entries(c.results)) {
    const rate = name === ROW.startup ? "–" : fmt(mb(storeBytes) / r.wall, 0);
    const speed = name === ROW.startup ? "–" : `${fmt(ref / r.wall)}×`;
    lines.push(
      `| ${name} | ${fmt(r.wall, 3)} s | ${rate} | ${fmt(r.cpu)} s | ${fmt(r.rss / 2 ** 20, 0)} MiB | ${speed} |`,
    );
  }
  return lines.join("\n");
}

/** One line on the result and its check. */
function resultLine(c) {
  const ref = c.reference;
  return (
    `Result: ${ref.packets} packets, ${fmt(mb(ref.bytes), 1)} MB of records. ` +
    `Same packets and record checksum as the reference (tcpdump per file, merged by mergecap` +
    `${c.windowed ? ", then the window" : ""}): ${c.correct ? "yes" : "**NO**"}.`
  );
}

/**
 * The floor of the selective slice (see lib/slice-floor.mjs): its candidate reads and a write of
 * its output size, without any slice logic, each in a fresh process; medians of `runs`.
 */
function floorOf({ store, state, filter, dir, outBytes, runs }) {
  const script = new URL("./lib/slice-floor.mjs", import.meta.url).pathname;
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, [
      script,
      store,
      state,
      filter,
      join(dir, "floor.bin"),
      String(outBytes),
    ]);
    samples.push(JSON.parse(out.toString()));
  }
  return {
    reads: samples[0].reads,
    bytes: samples[0].bytes,
    read: median(samples.map((s) => s.readSeconds)),
    write: median(samples.map((s) => s.writeSeconds)),
  };
}

/**
 * Catalogue and read plans of the store in fresh processes, as the CLI makes them (see
 * lib/slice-plan.mjs), without reading a record; medians of `runs`, in ms.
 */
function planCost({ store, state, filter, runs }) {
  const script = new URL("./lib/slice-plan.mjs", import.meta.url).pathname;
  const samples = [];
  for (let i = 0; i < runs; i++) {
    samples.push(JSON.parse(execFileSync(process.execPath, [script, store, state, filter]).toString()));
  }
  const of = (key) => median(samples.map((s) => s[key]));
  return { catalogue: of("catalogueMs"), plan: of("planMs"), first: of("firstMs"), rest: of("restMs") };
}

/** Seconds each file costs a query that consults every index (few matches, 16 files vs 4). */
function perFileMs(fewCase, fewSub, files, subset) {
  return (fewCase.inside - fewSub.inside) / (files.length - subset.files.length);
}

/** Own work of the indexed slice: median wall minus median start-up. */
function own(c) {
  return c.results[ROW.index].wall - c.results[ROW.startup].wall;
}

/** The benchmark module: see the file comment. Returns its Markdown section. */
export default async function sliceBench({ log }) {
  const ring = await ensureRing({}, log);
  const files = ring.files;
  log(`ring ${ring.generated ? "generated" : "reused"}: ${files.length} files, ${fmt(mb(ring.bytes), 0)} MB`);
  const state = join(BENCH_DIR, `state-${basename(ring.dir)}`);
  const indexSummary = ensureIndexes([ring.dir], state);
  log(indexSummary);
  const noState = join(BENCH_DIR, "state-empty");
  rmSync(noState, { recursive: true, force: true });
  mkdirSync(noState, { recursive: true });
  const empty = emptyStore();
  warmCache([...files.map((f) => f.path), ...readdirSync(state).map((n) => join(state, n))]);
  const dir = outputDir(ring.bytes * 3, join(BENCH_DIR, "out"));
  const base = { state, noState, empty, dir, log };
  const host = ring.host;
  const selective = `host ${host} and tcp`;
  const hosts = await pickHosts(ring, state);
  const few = `host ${hosts.few}`;
  const many = `host ${hosts.many} and tcp`;
  const broad = "tcp port 443";
  const whole = { stores: [ring.dir], files };
  const subset = subsetStore(ring, 6, 4);
  const subsetWindow = { from: subset.files[0].first, to: addNs(subset.files.at(-1).last, 1) };
  const span = ring.end[0] - ring.start[0];
  const mid = ring.start[0] + Math.floor((span - 60) / 2);
  const window60 = { from: [mid, 0], to: [mid + 60, 0] };

  // Selective query over the whole ring: the headline comparison.
  const sel = await sliceCase({
    ...base,
    ...whole,
    key: "selective",
    inside: true,
    filter: selective,
    noIndex: true,
    list: true,
    runs: RUNS,
  });
  const floor = floorOf({
    store: ring.dir,
    state,
    filter: selective,
    dir,
    outBytes: sel.reference.bytes,
    runs: RUNS,
  });
  log(`floor: ${floor.reads} reads ${ms(floor.read)}, write ${ms(floor.write)}`);
  const planSel = planCost({ store: ring.dir, state, filter: selective, runs: RUNS });
  const planFew = planCost({ store: ring.dir, state, filter: few, runs: RUNS });
  log(
    `plans: selective ${fmt(planSel.plan, 1)} ms, few ${fmt(planFew.plan, 1)} ms, catalogue ${fmt(planSel.catalogue, 1)} ms`,
  );
  // Growth: subset, the subset's window on the whole ring, few and many matches.
  const sub = await sliceCase({
    ...base,
    key: "subset",
    inside: true,
    stores: [subset.dir],
    files: subset.files,
    filter: selective,
    runs: RUNS,
  });
  const subWin = await sliceCase({
    ...base,
    ...whole,
    key: "subset-window",
    inside: true,
    filter: selective,
    window: subsetWindow,
    runs: RUNS,
  });
  subWin.windowed = true;
  const fewCase = await sliceCase({ ...base, ...whole, key: "few", filter: few, inside: true, runs: RUNS });
  const fewSub = await sliceCase({
    ...base,
    key: "few-subset",
    inside: true,
    stores: [subset.dir],
    files: subset.files,
    filter: few,
    runs: RUNS,
  });
  const manyCase = await sliceCase({
    ...base,
    ...whole,
    key: "many",
    filter: many,
    inside: true,
    runs: RUNS,
  });
  // Broad query: no index help.
  const wide = await sliceCase({
    ...base,
    ...whole,
    key: "broad",
    filter: broad,
    noIndex: true,
    list: true,
    runs: BIG_RUNS,
  });
  // 60 s in the middle, without and with a filter.
  const win = await sliceCase({
    ...base,
    ...whole,
    key: "window",
    filter: "",
    window: window60,
    noIndex: true,
    runs: BIG_RUNS,
  });
  win.windowed = true;
  const winF = await sliceCase({
    ...base,
    ...whole,
    key: "window-filter",
    filter: broad,
    window: window60,
    noIndex: true,
    runs: BIG_RUNS,
  });
  winF.windowed = true;

  // Targets.
  const tcpSel = sel.results[ROW.perFile].wall;
  const ownSel = own(sel);
  const ownSpeed = tcpSel / ownSel;
  const wallSpeed = tcpSel / sel.results[ROW.index].wall;
  const broadRatio = wide.results[ROW.index].wall / wide.results[ROW.perFile].wall;
  const broadRatioScan = wide.results[ROW.scan].wall / wide.results[ROW.perFile].wall;
  const rss = Math.max(
    ...[sel, wide].flatMap((c) => [ROW.index, ROW.scan].map((row) => c.results[row]?.rss ?? 0)),
  );
  // Growth is judged on the in-process timings: the same work as "own work", measured directly
  // rather than as a difference of two noisy medians.
  const storeGrowth = subWin.inside / sub.inside;
  const growthRows = [
    [`few matches: \`${few}\`, 4-file subset`, subset.files, fewSub],
    ["selective, 4-file subset", subset.files, sub],
    ["selective, 16 files, window = the subset's span", files, subWin],
    [`few matches: \`${few}\`, 16 files`, files, fewCase],
    [`selective: \`${selective}\`, 16 files`, files, sel],
    [`many matches: \`${many}\`, 16 files`, files, manyCase],
  ];
  const growthTable = [
    "| query | store | matches | output | pcapfleet wall | own work (wall − start-up) | own work timed inside | tcpdump (per file) | own work vs tcpdump |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...growthRows.map(([label, fs, c]) => {
      const t = c.results[ROW.perFile].wall;
      return (
        `| ${label} | ${fs.length} files, ${fmt(mb(sum(fs)), 0)} MB | ${c.reference.packets} | ` +
        `${fmt(mb(c.reference.bytes), 1)} MB | ${ms(c.results[ROW.index].wall)} | ${ms(own(c))} | ` +
        `${ms(c.inside)} | ${ms(t)} | ${fmt(t / own(c), 1)}× |`
      );
    }),
  ].join("\n");
  // In-process time against output size (few → selective → many): a line through the two ends.
  const perMb =
    (manyCase.inside - fewCase.inside) / (mb(manyCase.reference.bytes) - mb(fewCase.reference.bytes));
  const fixed = fewCase.inside - perMb * mb(fewCase.reference.bytes);
  // What each file of the store costs a query that must consult every file's index.
  const perFile = perFileMs(fewCase, fewSub, files, subset);
  const allCorrect = [sel, sub, subWin, fewCase, fewSub, manyCase, wide, win, winF].every((c) => c.correct);
  log(
    `own work ${ms(ownSel)} (${fmt(ownSpeed, 1)}× tcpdump), wall ${fmt(wallSpeed, 1)}×, broad ${fmt(broadRatio)}× tcpdump, ` +
      `peak RSS ${fmt(rss / 2 ** 20, 0)} MiB, all outputs correct: ${allCorrect}`,
  );

  return [
    "## Slice (`pcapfleet-agent slice` vs tcpdump)",
    "",
    "Each tool runs as its own process on a ring in the page cache (read once first), the tools",
    "taking turns; outputs go to tmpfs; figures are medians. tcpdump reads one file per process,",
    "so its figure is the sum of `tcpdump -r FILE -w OUT EXPR` over the ring's files run one after",
    "the other (one shell loop); `tcpdump -V LIST` (tcpdump 4.99 reads a file list in one process)",
    "is shown too. tcpdump has no time window: for windowed queries it scans every file with the",
    "filter and the window is applied afterwards (that step is not timed, to tcpdump's advantage).",
    "*Start-up* is the same CLI slicing an empty store with the same filter (Node, module loading,",
    "catalogue, filter compilation: " +
      `${ms(sel.results[ROW.startup].wall)} here); *own work* is the median wall minus it. With files to`,
    "read, the slice reads their indexes while libpcap compiles the filter in its child process, so",
    "part of the compilation counted in start-up is hidden in the real run.",
    "Every pcapfleet output of the last run is checked against the reference: tcpdump's per-file",
    "outputs merged by `mergecap -F pcap`, windowed; same packet count and same SHA-256 over every",
    "record (timestamp, lengths, bytes), in order.",
    `Measured with ${loadNote()}.`,
    "",
    `Ring: ${files.length} files, ${fmt(mb(ring.bytes), 0)} MB, ${ring.packets} packets, ` +
      `${span} s of traffic; indexes built by \`pcapfleet-agent index\` (${indexSummary.replace(/^index: /, "").replace(/, state .*$/, "")}).`,
    "",
    `### Selective query: \`${selective}\`, whole ring, indexed`,
    "",
    table(sel, ring.bytes),
    "",
    resultLine(sel),
    `Own work of the indexed slice: ${ms(ownSel)} (timed inside its process: ${ms(sel.inside)}), ` +
      `${fmt(ownSpeed, 1)}× faster than tcpdump's scan; with start-up ${fmt(wallSpeed, 1)}× faster.`,
    "",
    `- Own work ≥ ${TARGET.ownSpeedup}× faster than tcpdump: ${metOrNot(ownSpeed >= TARGET.ownSpeedup)} (${fmt(ownSpeed, 1)}×; ` +
      `the target is ${ms(tcpSel / TARGET.ownSpeedup)} here).`,
    `  The result is ${fmt((100 * sel.reference.packets) / ring.packets, 1)}% of the packets, spread over ` +
      `the whole ring. Its floor, measured in fresh processes with no slice logic at all: the ` +
      `${floor.reads} \`pread\`s of the candidate runs (${fmt(mb(floor.bytes), 0)} MB) take ${ms(floor.read)}, ` +
      `and writing the ${fmt(mb(sel.reference.bytes), 1)} MB output takes ${ms(floor.write)} more on ` +
      "the main thread (the slice overlaps it on the other core); consulting the 16 files (next section) " +
      `adds about ${fmt(perFileMs(fewCase, fewSub, files, subset) * files.length * 1000, 0)} ms. ` +
      `Reads alone are ${fmt(tcpSel / floor.read, 1)}× faster than tcpdump's scan. With few ` +
      `matches (\`${few}\`, ${fewCase.reference.packets} packets) own work is ` +
      `${fmt(fewCase.results[ROW.perFile].wall / own(fewCase), 1)}× faster (next table).`,
    `- With start-up ≥ ${TARGET.wallSpeedup}× faster: ${metOrNot(wallSpeed >= TARGET.wallSpeedup)} (${fmt(wallSpeed, 1)}×).`,
    "",
    "### How the selective query's time grows",
    "",
    "Same filter on a 4-file subset of the ring, and on the 16 files with the subset's time span as",
    "window (the same result from a store four times larger); then queries with few and many",
    "matches over the 16 files. The subset is symlinks to the same files (same indexes, same cache).",
    "",
    growthTable,
    "",
    ...[fewSub, sub, subWin, fewCase, manyCase].map((c) => `- ${resultLine(c)}`),
    "",
    "*Own work timed inside* is the same slice in a process that times itself (catalogue and",
    "slice, as the CLI runs them): the direct measure of own work, steadier than a difference of",
    "medians on a shared host; the growth figures below use it.",
    "",
    `- Time grows with the result, not the store: same result from a 4× larger store (the subset's ` +
      `window on the 16 files): ${ms(subWin.inside)} vs ${ms(sub.inside)} (${fmt(storeGrowth)}×): ` +
      `${metOrNot(storeGrowth <= 1.5)}. Files outside the window are skipped on their catalogue entry ` +
      "or their index's header; no index is read whole.",
    `- A whole-window query still consults every file: each file costs ${fmt(perFile * 1000, 1)} ms ` +
      `whatever it holds (few matches: ${ms(fewCase.inside)} on 16 files, ${ms(fewSub.inside)} on 4): ` +
      "its catalogue entry probed, its index's meta part read and checked (only the directories the " +
      "filter uses decoded), the capture's identity checked (stat and CRCs of its first and last 4 KiB), " +
      "then the file opened and its candidates read. Before any record is read, in fresh processes " +
      `(medians of ${RUNS}): the catalogue of the 16 files takes ${fmt(planSel.catalogue, 1)} ms and their ` +
      `read plans ${fmt(planFew.plan, 1)} ms for \`${few}\` (${fmt(planSel.plan, 1)} ms for the selective ` +
      `filter, whose lists are longer): the first file ${fmt(planFew.first, 1)} ms, each other ` +
      `${fmt(planFew.rest, 2)} ms. The first file pays for code running for the first time; the plans ` +
      "are made while libpcap compiles the filter in its child process.",
    `- With the result: ${ms(fewCase.inside)} for ${fmt(mb(fewCase.reference.bytes), 1)} MB out, ` +
      `${ms(sel.inside)} for ${fmt(mb(sel.reference.bytes), 1)} MB, ${ms(manyCase.inside)} for ` +
      `${fmt(mb(manyCase.reference.bytes), 1)} MB: about ${ms(fixed)} fixed (16 files) plus ` +
      `${fmt(perMb * 1000, 2)} ms per MB of output.`,
    "",
    `### Broad query: \`${broad}\`, whole ring (indexes cannot narrow it)`,
    "",
    table(wide, ring.bytes),
    "",
    resultLine(wide),
    "",
    `- Wall ≤ ${TARGET.broadRatio}× tcpdump's: ${metOrNot(broadRatio <= TARGET.broadRatio)} ` +
      `(${fmt(broadRatio)}× with indexes, ${fmt(broadRatioScan)}× without).`,
    "",
    `### Windowed query: 60 s in the middle of the ring (${window60.from[0]}–${window60.to[0]}), no filter`,
    "",
    table(win, ring.bytes),
    "",
    resultLine(win),
    "",
    `### Windowed query: the same 60 s, \`${broad}\``,
    "",
    table(winF, ring.bytes),
    "",
    resultLine(winF),
    "",
    "### Memory",
    "",
    `- Peak RSS of a slice < ${TARGET.rssMiB} MB on the full ring (selective and broad, with and without ` +
      `indexes): ${metOrNot(rss < TARGET.rssMiB * 2 ** 20)} (largest ${fmt(rss / 2 ** 20, 0)} MiB).`,
  ].join("\n");
}
