/**
 * `pcapfleet-agent index`: builds or refreshes the per-file indexes of one or more ring
 * directories in the state directory, so later slices read only what can match. Files already
 * indexed and unchanged are left alone; files that grew are extended.
 */
import type { CliCommand, CliIo, CliValues } from "@pcapfleet/core/cli";
import { countFlag, DEFAULT_STATE_DIR, storeFlags } from "./slice-command.js";

const help = `Usage: pcapfleet-agent index --store DIR [--store DIR2] [--state DIR] [--quiet-ms N]

Indexes every capture file of the store(s) (found by content, up to 4 levels deep) into the state
directory; the store itself is never written. Prints one line per file, then a summary.

Options:
  --store DIR      ring directory (repeatable)
  --state DIR      index directory (default $PCAPFLEET_STATE_DIR or ${DEFAULT_STATE_DIR})
  --quiet-ms N     leave files modified less than N ms ago (still being written) for later
`;

/** The `index` command. */
export const indexCommand: CliCommand = {
  name: "index",
  summary: "build or refresh the per-file indexes of a ring directory",
  help,
  options: {
    store: { type: "string", multiple: true },
    state: { type: "string" },
    "quiet-ms": { type: "string" },
  },
  run: runIndex,
};

async function runIndex(values: CliValues, _positionals: string[], io: CliIo): Promise<number> {
  const stores = storeFlags(values);
  const quietMs = countFlag(values, "quiet-ms");
  const stateFlag = values["state"];
  const stateDir =
    (typeof stateFlag === "string" ? stateFlag : undefined) ??
    io.env["PCAPFLEET_STATE_DIR"] ??
    DEFAULT_STATE_DIR;
  const { indexStores, scanStores } = await import("@pcapfleet/pcap/query");
  const catalogue = await scanStores(stores);
  const counts = { built: 0, extended: 0, fresh: 0, open: 0 };
  let packets = 0;
  let bytesIndexed = 0;
  let indexBytes = 0;
  const result = await indexStores({
    files: catalogue.files,
    stateDir,
    ...(quietMs === undefined ? {} : { quietMs }),
    onFile: (entry) => {
      counts[entry.status] += 1;
      packets += entry.packets;
      bytesIndexed += entry.bytesIndexed;
      indexBytes += entry.indexBytes;
      io.stdout.write(
        `${entry.status.padEnd(8)} ${entry.path}  ${entry.packets} packets, ${mib(entry.bytesIndexed)} indexed, ` +
          `index ${kib(entry.indexBytes)}, ${entry.ms} ms\n`,
      );
    },
  });
  const skipped = [...catalogue.skipped, ...result.skipped];
  for (const skip of skipped)
    io.stderr.write(`pcapfleet-agent index: skipped ${skip.path}: ${skip.reason}\n`);
  const ratio = bytesIndexed === 0 ? 0 : (100 * indexBytes) / bytesIndexed;
  io.stdout.write(
    `index: ${result.files.length} files (${counts.built} built, ${counts.extended} extended, ` +
      `${counts.fresh} fresh, ${counts.open} open), ${packets} packets, ${mib(bytesIndexed)} indexed, ` +
      `index ${kib(indexBytes)} (${ratio.toFixed(2)}%), ${skipped.length} skipped, state ${stateDir}\n`,
  );
  return 0;
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
