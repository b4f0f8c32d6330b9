// One slice benchmark case: pcapfleet-agent slice (with indexes, optionally without, and its
// start-up on an empty store) against tcpdump over the same files, tools taking turns, then the
// correctness check: every pcapfleet output must have the reference's packets and checksum.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { compare, median } from "./measure.mjs";
import { digestPcap } from "./pcap-digest.mjs";
import { agentSlice, referenceDigest, runnerSlice, tcpdumpList, tcpdumpPerFile } from "./slice-tools.mjs";

/** Names of the rows, as the tables print them. */
export const ROW = Object.freeze({
  index: "pcapfleet (indexed)",
  scan: "pcapfleet (no index)",
  startup: "pcapfleet start-up (empty store)",
  perFile: "tcpdump, one `-r` per file (sum)",
  list: "tcpdump -V (file list)",
  inside: "pcapfleet slice timed inside its process",
});

/**
 * Runs one case. `spec`: { key, stores, files (ring file objects, what tcpdump reads), filter,
 * window, state (indexes), noState (an empty state dir), empty (an empty store), dir (outputs),
 * noIndex, list (also time tcpdump -V), inside (also time the slice inside its process), runs,
 * log }. Returns the per-row results (see `compare`; the in-process timing is taken out of them
 * as `inside`, median seconds), the digests and whether each pcapfleet output equals the
 * reference.
 */
export async function sliceCase(spec) {
  const { key, stores, files, filter, window, state, noState, empty, dir, runs, log } = spec;
  const work = join(dir, `pcapfleet-bench-slice-${key}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const out = (name) => join(work, name);
  const paths = files.map((f) => f.path);
  const entries = [
    agentSlice(ROW.index, { stores, filter, window, state, out: out("indexed.pcap") }),
    ...(spec.noIndex
      ? [agentSlice(ROW.scan, { stores, filter, window, state: noState, out: out("scan.pcap") })]
      : []),
    agentSlice(ROW.startup, { stores: [empty], filter, window, state, out: out("startup.pcap") }),
    tcpdumpPerFile(ROW.perFile, paths, filter, out("tcpdump")),
    ...(spec.list ? [tcpdumpList(ROW.list, paths, filter, out("list.txt"), out("list.pcap"))] : []),
    ...(spec.inside
      ? [runnerSlice(ROW.inside, { store: stores[0], filter, window, state, out: out("inside.pcap") })]
      : []),
  ];
  try {
    const results = await compare(entries, { runs, log: (line) => log(`${key}: ${line}`) });
    let inside = Number.NaN;
    if (spec.inside) {
      inside = median(results[ROW.inside].stdouts.map((line) => JSON.parse(line).seconds));
      delete results[ROW.inside];
    }
    // The last run's outputs are still there: check them against the reference.
    const reference = referenceDigest(paths, out("tcpdump"), window);
    const ours = { [ROW.index]: digestPcap(out("indexed.pcap")) };
    if (spec.noIndex) ours[ROW.scan] = digestPcap(out("scan.pcap"));
    if (spec.inside) ours[ROW.inside] = digestPcap(out("inside.pcap"));
    const correct = Object.values(ours).every(
      (d) => d.packets === reference.packets && d.sha256 === reference.sha256,
    );
    log(
      `${key}: ${reference.packets} packets, reference ${reference.sha256.slice(0, 12)}, ` +
        Object.entries(ours)
          .map(([name, d]) => `${name} ${d.packets} ${d.sha256.slice(0, 12)}`)
          .join(", ") +
        (correct ? " (equal)" : " (DIFFERENT)"),
    );
    return { results, inside, reference, ours, correct };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
