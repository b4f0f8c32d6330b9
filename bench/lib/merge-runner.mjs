// One merge as its own process, the way the benchmark times it against mergecap:
//   node bench/lib/merge-runner.mjs [--sync] OUT IN...
// Prints one JSON line: the merge's own seconds (without Node start-up and module loading,
// reported separately as startupSeconds), packets, bytes, output format, skipped inputs.
import { mergeCaptures } from "../../pcap/dist/merge/index.js";

// Module loading is done by now (static imports are evaluated before this line runs).
const startupSeconds = process.uptime();
const args = process.argv.slice(2);
const syncReads = args[0] === "--sync";
if (syncReads) args.shift();
const [out, ...inputs] = args;
if (out === undefined || inputs.length === 0) {
  process.stderr.write("usage: merge-runner.mjs [--sync] OUT IN...\n");
  process.exit(2);
}
const started = performance.now();
const result = await mergeCaptures(inputs, out, { syncReads });
const seconds = (performance.now() - started) / 1000;
const { packets, bytes, format, skipped } = result;
process.stdout.write(
  `${JSON.stringify({ seconds, startupSeconds, packets, bytes, format, skipped: skipped.length })}\n`,
);
