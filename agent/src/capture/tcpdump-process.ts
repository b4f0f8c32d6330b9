/**
 * tcpdump as the agent's libpcap writer (ADR 0013): argument lists, the `-d` pre-check that
 * separates a bad filter from a missing device, and the parsing of what tcpdump prints on
 * stderr (its banner, its statistics on SIGUSR1 and at exit, its errors).
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { CaptureConfig } from "./capture-config.js";

/** tcpdump's own packet counters for one run (what `pcap_stats` returned). */
export interface TcpdumpCounters {
  captured: number;
  receivedByFilter: number;
  droppedByKernel: number;
  droppedByInterface: number;
}

/** A fresh set of zero counters. */
export function zeroCounters(): TcpdumpCounters {
  return { captured: 0, receivedByFilter: 0, droppedByKernel: 0, droppedByInterface: 0 };
}

/**
 * Arguments of the writer: pcap to stdout (`-w -`), flushed per packet (`-U`) so the agent's
 * files are current, nanosecond timestamps as the kernel gives them, no name resolution.
 */
export function writerArgs(config: CaptureConfig): string[] {
  return [
    "-i",
    config.interface,
    "-w",
    "-",
    "-U",
    "-n",
    "-s",
    String(config.snaplen),
    "-B",
    String(config.bufferKiB),
    "--time-stamp-precision=nano",
    "--",
    config.filter ?? "",
  ];
}

/** What `tcpdump -d` said about an interface and a filter. */
export type PrecheckResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly kind: "tcpdump-missing" | "device" | "filter"; readonly message: string };

// libpcap's complaints about the device or the privileges, as opposed to the expression.
const deviceProblem =
  /no such device|doesn't exist|does not exist|not permitted|permission|not up|network is down|no suitable device|socket:|ioctl|SIOC/i;

/**
 * Compiles the filter for the live interface without capturing (`tcpdump -d`): proves the
 * expression against the interface's real link type, and that the interface can be opened.
 */
export function precheck(tcpdump: string, config: CaptureConfig): Promise<PrecheckResult> {
  const args = ["-d", "-i", config.interface, "-s", String(config.snaplen), "--", config.filter ?? ""];
  return new Promise((resolveCheck) => {
    execFile(tcpdump, args, { timeout: 15_000, maxBuffer: 8 * 2 ** 20 }, (error, _stdout, stderr) => {
      if (error === null) {
        resolveCheck({ ok: true });
        return;
      }
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        resolveCheck({ ok: false, kind: "tcpdump-missing", message: `tcpdump not found at '${tcpdump}'` });
        return;
      }
      const message = errorLines(String(stderr)) || error.message.split("\n")[0] || "tcpdump -d failed";
      resolveCheck({ ok: false, kind: deviceProblem.test(message) ? "device" : "filter", message });
    });
  });
}

/** Checks that tcpdump can be run at all; resolves to a reason when it cannot. */
export function tcpdumpVersion(tcpdump: string): Promise<{ version: string } | { reason: string }> {
  return new Promise((resolveVersion) => {
    execFile(tcpdump, ["--version"], { timeout: 10_000 }, (error, stdout) => {
      if (error === null) {
        resolveVersion({ version: String(stdout).split("\n")[0] ?? "tcpdump" });
        return;
      }
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
      resolveVersion({
        reason: missing
          ? `live capture unavailable: tcpdump (libpcap) not found at '${tcpdump}'; install tcpdump to enable own capture. Existing rings are still served.`
          : `live capture unavailable: '${tcpdump} --version' failed (${error.message.split("\n")[0]}). Existing rings are still served.`,
      });
    });
  });
}

/** What one stderr line of a running writer means. */
export type StderrLine =
  | { readonly kind: "listening" }
  | { readonly kind: "stats"; readonly counters: Partial<TcpdumpCounters> }
  | { readonly kind: "error"; readonly message: string }
  | { readonly kind: "other" };

const statPatterns: ReadonlyArray<readonly [keyof TcpdumpCounters, RegExp]> = [
  ["captured", /(\d+) packets? captured/],
  ["receivedByFilter", /(\d+) packets? received by filter/],
  ["droppedByKernel", /(\d+) packets? dropped by kernel/],
  ["droppedByInterface", /(\d+) packets? dropped by interface/],
];

/**
 * Classifies one stderr line. SIGUSR1 prints all counters on one line ("tcpdump: 3 packets
 * captured, 5 packets received by filter, 0 packets dropped by kernel"); exit prints one per line.
 */
export function parseStderrLine(line: string): StderrLine {
  const text = line.trim();
  if (text === "") return { kind: "other" };
  if (/^tcpdump: listening on /.test(text)) return { kind: "listening" };
  const counters: Partial<TcpdumpCounters> = {};
  let found = false;
  for (const [key, pattern] of statPatterns) {
    const match = pattern.exec(text);
    if (match !== null) {
      counters[key] = Number(match[1]);
      found = true;
    }
  }
  if (found) return { kind: "stats", counters };
  // "(No such device exists)" repeats the line before it; warnings are not failures.
  if (/^\(.*\)$/.test(text) || /^tcpdump: WARNING/i.test(text)) return { kind: "other" };
  return { kind: "error", message: text.replace(/^tcpdump: /, "") };
}

/** The error lines of a tcpdump stderr, joined: libpcap's message without tcpdump's noise. */
export function errorLines(stderr: string): string {
  const lines: string[] = [];
  for (const line of stderr.split("\n")) {
    const parsed = parseStderrLine(line);
    if (parsed.kind === "error") lines.push(parsed.message);
  }
  return lines.join("; ");
}

/**
 * Calls `onLine` for every line of a text stream; returns a function that hands over the last,
 * unterminated line (call it once the stream has ended).
 */
export function onLines(stream: Readable, onLine: (line: string) => void): () => void {
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (text: string) => {
    pending += text;
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      onLine(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
  });
  return () => {
    if (pending !== "") onLine(pending);
    pending = "";
  };
}

/** The growth of an interface's `rx_dropped` counter (Linux sysfs) since the first read. */
export interface InterfaceDrops {
  /** Reads the counter; an absent interface (or another OS) leaves the figure unknown. */
  read(): Promise<void>;
  /** Drops since the first successful read; undefined while the counter was never readable. */
  value(): number | undefined;
}

/** Creates the drop counter of one interface. */
export function createInterfaceDrops(iface: string): InterfaceDrops {
  let base: number | undefined;
  let drops = 0;
  return {
    async read() {
      try {
        const value = Number(
          (await readFile(`/sys/class/net/${iface}/statistics/rx_dropped`, "utf8")).trim(),
        );
        if (!Number.isFinite(value)) return;
        // A counter that went back means the interface was re-created: count from there.
        if (base === undefined || value < base + drops) base = value - drops;
        drops = value - base;
      } catch {
        // No such interface (yet), or not Linux: the caller falls back to tcpdump's figure.
      }
    },
    value: () => (base === undefined ? undefined : drops),
  };
}
