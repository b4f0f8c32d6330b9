// Where a slice's per-file cost goes before any capture record is read, measured in a fresh
// process as `pcapfleet-agent slice` pays it: the catalogue of the store (synchronous calls, as
// the CLI), then each file's read plan from its index (real path, index meta part and the posting
// lists FILTER needs, the capture's identity; synchronous reads, as the CLI), one file after the
// other. The filter is not compiled: the CLI compiles it in a child process meanwhile.
//   node bench/lib/slice-plan.mjs STORE STATE FILTER
// Prints one JSON line: catalogue ms, plan ms (all files), first file's plan ms, median plan ms of
// the other files, files, candidates.

import { planFilter } from "../../pcap/dist/plan/filter-terms.js";
import { FileOpener } from "../../pcap/dist/query/file-opener.js";
import { END_OF_TIME, EPOCH, scanStores } from "../../pcap/dist/query/index.js";

const [store, state, filter] = process.argv.slice(2);
if (store === undefined || state === undefined || filter === undefined) {
  process.stderr.write("usage: slice-plan.mjs STORE STATE FILTER\n");
  process.exit(2);
}
const started = performance.now();
const { files } = await scanStores([store], { syncReads: true });
const catalogued = performance.now();
const opener = new FileOpener({
  window: { from: EPOCH, to: END_OF_TIME },
  expression: filter,
  filterPlan: planFilter(filter),
  stateDir: state,
  rules: { linkType: -1, maxSec: 0 },
  syncReads: true,
});
const each = [];
let candidates = 0;
for (const file of files) {
  const before = performance.now();
  const plan = await opener.plan(file);
  each.push(performance.now() - before);
  candidates += plan.candidates?.length ?? 0;
}
const planned = performance.now();
const rest = each.slice(1).sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    catalogueMs: catalogued - started,
    planMs: planned - catalogued,
    firstMs: each[0] ?? 0,
    restMs: rest[rest.length >> 1] ?? 0,
    files: files.length,
    candidates,
  })}\n`,
);
