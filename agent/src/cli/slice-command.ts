/**
 * `pcapfleet-agent slice`: the offline slice of one or more ring directories (DESIGN.md,
 * "Contracts"). The PCAP engine is imported when the command runs, not when the program
 * starts, so `--help` and the other commands do not pay for loading it.
 */

import { isAbsolute, join } from "node:path";
import { type CliCommand, type CliIo, type CliValues, stringFlag } from "@pcapfleet/core/cli";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";

/** Default state directory when neither --state nor PCAPFLEET_STATE_DIR is given. */
export const DEFAULT_STATE_DIR = "./agent-state";

const help = `Usage: pcapfleet-agent slice --store DIR [--store DIR2] [--from T] [--to T] [--filter EXPR] -w OUT
                             [--state DIR] [--max-bytes N] [--max-packets N]

Writes the packets of the store(s) that match EXPR with from <= timestamp < to to OUT, as one
pcap in timestamp order (records byte-identical to the source records). Capture files are found
by content, up to 4 directory levels deep. Exit 0 also when nothing matches.

Options:
  --store DIR        ring directory (repeatable)
  --from T           window start, inclusive: RFC 3339 or epoch seconds (1700000000.123456789)
  --to T             window end, exclusive (same forms)
  --filter EXPR      tcpdump filter expression (libpcap syntax)
  -w, --write OUT    output file, or - for standard output
  --state DIR        index directory (default $PCAPFLEET_STATE_DIR or ${DEFAULT_STATE_DIR}); read only
  --max-bytes N      stop before the output exceeds N bytes
  --max-packets N    stop after N packets

Filters compiled by libpcap are kept in $PCAPFLEET_CACHE_DIR/bpf (default
$XDG_CACHE_HOME/pcapfleet or ~/.cache/pcapfleet; PCAPFLEET_CACHE_DIR= turns it off).
`;

/** The `slice` command. */
export const sliceCommand: CliCommand = {
  name: "slice",
  summary: "write the packets matching a filter in a time window from a ring directory",
  help,
  options: {
    store: { type: "string", multiple: true },
    from: { type: "string" },
    to: { type: "string" },
    filter: { type: "string" },
    write: { type: "string", short: "w" },
    state: { type: "string" },
    "max-bytes": { type: "string" },
    "max-packets": { type: "string" },
  },
  run: runSlice,
};

async function runSlice(values: CliValues, _positionals: string[], io: CliIo): Promise<number> {
  const stores = storeFlags(values);
  const output = stringFlag(values, "write");
  if (output === undefined || output === "") throw invalid("-w OUT is required (- for standard output)");
  const maxBytes = countFlag(values, "max-bytes");
  const maxPackets = countFlag(values, "max-packets");
  const { compareInstant, createFilterCompiler, parseInstant, scanStores, sliceStore } = await import(
    "@pcapfleet/pcap/query"
  );
  const fromText = stringFlag(values, "from");
  const toText = stringFlag(values, "to");
  const from = fromText === undefined ? undefined : parseInstant(fromText, "--from");
  const to = toText === undefined ? undefined : parseInstant(toText, "--to");
  if (from !== undefined && to !== undefined && compareInstant(from, to) > 0) {
    throw invalid(`--from ${fromText} is after --to ${toText}`);
  }
  const toStdout = output === "-";
  if (toStdout && process.stdout.isTTY === true) {
    throw invalid("refusing to write a capture to a terminal; redirect standard output or use -w FILE");
  }
  // Synchronous calls, as the slice's reads below: a CLI process does nothing else meanwhile.
  const catalogue = await scanStores(stores, { syncReads: true });
  if (!toStdout) await refuseStoreFile(output, catalogue.files);
  const stateDir = stringFlag(values, "state") ?? io.env["PCAPFLEET_STATE_DIR"] ?? DEFAULT_STATE_DIR;
  const filter = stringFlag(values, "filter");
  // Programs kept on disk: a repeated query does not run tcpdump again (ADR 0012).
  const filterCompiler = createFilterCompiler({ cacheDir: filterCacheDir(io.env) });
  const result = await sliceStore({
    files: catalogue.files,
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    ...(filter === undefined ? {} : { filter }),
    stateDir,
    output: toStdout ? process.stdout : output,
    endOutput: !toStdout,
    ...(maxBytes === undefined ? {} : { maxBytes }),
    ...(maxPackets === undefined ? {} : { maxPackets }),
    // A CLI process does nothing else meanwhile: synchronous reads cost it nothing and make
    // indexed selective slices (many small scattered reads) several times faster.
    syncReads: true,
    filterCompiler,
  }).finally(() => filterCompiler.close());
  const skipped = [...catalogue.skipped, ...result.skipped];
  for (const skip of skipped)
    io.stderr.write(`pcapfleet-agent slice: skipped ${skip.path}: ${skip.reason}\n`);
  const parts = [
    `${result.packets} packets`,
    `${result.bytes} bytes`,
    `${result.filesRead} of ${catalogue.files.length} files read`,
    `${skipped.length} skipped`,
  ];
  if (result.truncated) parts.push("truncated (cap reached)");
  io.stderr.write(`pcapfleet-agent slice: ${parts.join(", ")}\n`);
  return 0;
}

/**
 * Where compiled filter programs are kept: `$PCAPFLEET_CACHE_DIR/bpf`, else the XDG cache
 * directory's `pcapfleet/bpf`; "" (no disk cache) when PCAPFLEET_CACHE_DIR is set empty or no
 * home is known.
 */
export function filterCacheDir(env: Readonly<Record<string, string | undefined>>): string {
  const own = env["PCAPFLEET_CACHE_DIR"];
  if (own !== undefined) return own === "" ? "" : join(own, "bpf");
  const xdg = env["XDG_CACHE_HOME"];
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, "pcapfleet", "bpf");
  const home = env["HOME"];
  return home !== undefined && isAbsolute(home) ? join(home, ".cache", "pcapfleet", "bpf") : "";
}

/** The --store values; at least one. */
export function storeFlags(values: CliValues): string[] {
  const raw = values["store"];
  const stores = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter(
    (value): value is string => typeof value === "string",
  );
  if (stores.length === 0) throw invalid("--store DIR is required");
  return stores;
}

/** A flag that must be a positive integer, or undefined. */
export function countFlag(values: CliValues, name: string): number | undefined {
  const text = stringFlag(values, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw invalid(`--${name} must be a positive integer, not '${text}'`);
  }
  return value;
}

/** Writing OUT over a capture of the store would destroy what is being sliced. */
async function refuseStoreFile(
  output: string,
  files: readonly { dev: bigint; ino: bigint }[],
): Promise<void> {
  const { stat } = await import("node:fs/promises");
  const st = await stat(output, { bigint: true }).catch(() => undefined);
  if (st !== undefined && files.some((file) => file.dev === st.dev && file.ino === st.ino)) {
    throw invalid(`output ${output} is a capture file of the store`);
  }
}

function invalid(message: string): AppError {
  return new AppError(ErrorCode.InvalidArgument, message);
}
