// The floor of an indexed selective slice, measured in a fresh process with none of the slice's
// logic: the index's candidate records of FILTER read from the page cache exactly as the slice
// reads them (one `pread` per run of candidates less than SYNC_COALESCE_GAP apart, READ_AHEAD
// bytes past the last one), then OUT_BYTES written to OUT in 1 MiB chunks.
//   node bench/lib/slice-floor.mjs STORE STATE FILTER OUT OUT_BYTES
// Prints one JSON line: reads, bytes read, read seconds, write seconds, candidates.
import { closeSync, openSync, readdirSync, readSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { syncIndexFs } from "../../pcap/dist/index-file/index-fs.js";
import { openIndexView } from "../../pcap/dist/index-file/store.js";
import { planFilter } from "../../pcap/dist/plan/filter-terms.js";
import { SYNC_COALESCE_GAP } from "../../pcap/dist/query/plan.js";
import { READ_AHEAD } from "../../pcap/dist/query/read-source.js";

const [store, state, filter, out, outBytes] = process.argv.slice(2);
const plan = planFilter(filter);
const files = readdirSync(store)
  .filter((name) => !name.endsWith(".json"))
  .sort()
  .map((name) => join(store, name));
// The candidates first (not timed: that is the index's part, timed by the slice itself).
const sets = [];
for (const path of files) {
  const view = await openIndexView(state, path, { fs: syncIndexFs });
  if (view === undefined) continue;
  const found = await view.candidates(plan);
  await view.close();
  if (found.kind === "offsets") sets.push([path, found.offsets]);
}
const buf = Buffer.allocUnsafe(512 * 1024);
let reads = 0;
let bytes = 0;
let candidates = 0;
const started = performance.now();
for (const [path, offsets] of sets) {
  const fd = openSync(path, "r");
  candidates += offsets.length;
  for (let i = 0; i < offsets.length; ) {
    let j = i;
    while (
      j + 1 < offsets.length &&
      offsets[j + 1] - offsets[j] <= SYNC_COALESCE_GAP &&
      offsets[j + 1] - offsets[i] + READ_AHEAD <= buf.length
    )
      j++;
    bytes += readSync(fd, buf, 0, offsets[j] - offsets[i] + READ_AHEAD, offsets[i]);
    reads += 1;
    i = j + 1;
  }
  closeSync(fd);
}
const readSeconds = (performance.now() - started) / 1000;
const chunk = Buffer.alloc(1024 * 1024, 1);
const total = Number(outBytes);
const writeStarted = performance.now();
const fd = openSync(out, "w");
for (let at = 0; at < total; at += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, total - at));
closeSync(fd);
const writeSeconds = (performance.now() - writeStarted) / 1000;
rmSync(out, { force: true });
process.stdout.write(`${JSON.stringify({ reads, bytes, readSeconds, writeSeconds, candidates })}\n`);
