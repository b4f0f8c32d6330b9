// One slice as its own process, doing what `pcapfleet-agent slice` does (catalogue the store and
// sliceStore, both with synchronous reads), timed from inside:
//   node bench/lib/slice-runner.mjs STORE STATE OUT FILTER [FROM TO]
// Prints one JSON line: the slice's own seconds (catalogue + slice, without Node start-up, module
// loading and nothing else: a direct measure of what the benchmark otherwise gets as CLI wall
// minus CLI start-up), start-up seconds, packets and bytes.
import { scanStores, sliceStore } from "../../pcap/dist/query/index.js";

// Module loading is done by now (static imports are evaluated before this line runs).
const startupSeconds = process.uptime();
const [store, stateDir, output, filter, from, to] = process.argv.slice(2);
if (store === undefined || stateDir === undefined || output === undefined) {
  process.stderr.write("usage: slice-runner.mjs STORE STATE OUT [FILTER [FROM TO]]\n");
  process.exit(2);
}
const instant = (text) => {
  const [sec, frac = "0"] = text.split(".");
  return { sec: Number(sec), nsec: Number(frac.padEnd(9, "0")) };
};
const started = performance.now();
const { files } = await scanStores([store], { syncReads: true });
const result = await sliceStore({
  files,
  stateDir,
  output,
  syncReads: true,
  ...(filter ? { filter } : {}),
  ...(from ? { from: instant(from) } : {}),
  ...(to ? { to: instant(to) } : {}),
});
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `${JSON.stringify({ seconds, startupSeconds, packets: result.packets, bytes: result.bytes, filesRead: result.filesRead })}\n`,
);
