/**
 * One supervised capture: a tcpdump process streaming pcap to the agent over a pipe, the ring
 * writer cutting that stream into files, retention, and the statistics. A writer that dies is
 * restarted with exponential backoff; a bad filter stops it for good with libpcap's message.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import type { AppError } from "@pcapfleet/core/errors";
import type { Logger } from "pino";
import { type CaptureConfig, capturePrefix } from "./capture-config.js";
import { createRetention, type DiskPercentProbe, type RetentionResult } from "./retention.js";
import { nextRingSeq } from "./ring-files.js";
import { createRingWriter, type RingWriter } from "./ring-writer.js";
import {
  createInterfaceDrops,
  onLines,
  parseStderrLine,
  precheck,
  type TcpdumpCounters,
  writerArgs,
  zeroCounters,
} from "./tcpdump-process.js";

/** Timers of a capture; tests shorten them. */
export interface CaptureTiming {
  /** First restart delay after the writer dies; doubles per failure. */
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** A run this long resets the backoff. */
  readonly stableMs: number;
  /** How often tcpdump is asked for its counters (SIGUSR1). */
  readonly statsIntervalMs: number;
  /** How often retention runs (it also runs after every rotation). */
  readonly retentionIntervalMs: number;
  /** How long stop() waits for tcpdump to flush and exit before killing it. */
  readonly stopTimeoutMs: number;
  /**
   * How long stop() waits for tcpdump to take the packets the kernel holds for it. libpcap
   * (TPACKET_V3) hands packets over in blocks, at least once a second; SIGTERM drops a block
   * not yet handed over, so stop() first waits until tcpdump's "captured" count catches up.
   */
  readonly drainTimeoutMs: number;
}

/** Counters and state of one capture, as heartbeats report them. */
export interface CaptureStatsRow {
  readonly interface: string;
  /** Packets that passed the capture filter (libpcap's ps_recv), over all writer runs. */
  readonly packetsReceived: number;
  /** Packets the kernel dropped for lack of buffer space (ps_drop). */
  readonly packetsDroppedKernel: number;
  /** The interface's rx_dropped counter grown since the capture started. */
  readonly packetsDroppedInterface: number;
  /** Packets written to ring files by this agent. */
  readonly packetsWritten: number;
  readonly bytesWritten: number;
  readonly filesWritten: number;
  /** The writer is capturing now. */
  readonly running: boolean;
  /** Why it is not (or its last failure); empty when fine. */
  readonly error: string;
}

/** Dependencies of {@link createCaptureWriter}. */
export interface CaptureWriterDeps {
  readonly config: CaptureConfig;
  readonly tcpdump: string;
  readonly isPinned: (path: string) => boolean;
  readonly diskPercent: DiskPercentProbe;
  readonly now: () => number;
  readonly log: Logger;
  readonly timing: CaptureTiming;
}

/** A supervised capture. */
export interface CaptureWriter {
  /** Starts; resolves once tcpdump listens or the first attempt failed (never rejects). */
  start(): Promise<void>;
  /** Stops tcpdump (it flushes its last packets) and closes the current file. */
  stop(): Promise<void>;
  stats(): CaptureStatsRow;
  /** Asks tcpdump for its counters now and waits for them (at most a second). */
  refreshStats(): Promise<void>;
  /** Runs retention now. */
  retain(): Promise<RetentionResult>;
}

/** Creates the supervised capture of one config entry. */
export function createCaptureWriter(deps: CaptureWriterDeps): CaptureWriter {
  const { config, timing, log } = deps;
  const dir = resolve(config.dir);
  const prefix = capturePrefix(config);
  const base = zeroCounters();
  let run = zeroCounters();
  let child: ChildProcess | undefined;
  let ring: RingWriter | undefined;
  let running = false;
  let stopping = false;
  let error = "";
  let failures = 0;
  const interfaceDrops = createInterfaceDrops(config.interface);
  let retry: NodeJS.Timeout | undefined;
  let exited: Promise<void> = Promise.resolve();
  const statsWaiters: Array<() => void> = [];
  const timers: NodeJS.Timeout[] = [];
  const retention = createRetention({
    isPinned: deps.isPinned,
    diskPercent: deps.diskPercent,
    now: deps.now,
    log,
  });

  const retain = (): Promise<RetentionResult> =>
    retention.run({
      dir,
      prefix,
      maxDiskPercent: config.maxDiskPercent,
      maxAgeHours: config.maxAgeHours,
      openPaths: ring?.openPaths ?? new Set(),
    });
  const retainQuietly = (): void => {
    retain().catch((cause: unknown) => log.error({ err: cause, dir }, "retention pass failed"));
  };

  const readInterfaceDrops = (): Promise<void> => interfaceDrops.read();

  const fail = (message: string, retryable: boolean): void => {
    error = message;
    if (stopping || !retryable) return;
    const delay = Math.min(timing.backoffMaxMs, timing.backoffInitialMs * 2 ** Math.min(failures, 20));
    failures += 1;
    log.warn(
      { interface: config.interface, error: message, retryInMs: delay },
      "capture writer failed; restarting",
    );
    retry = setTimeout(() => {
      retry = undefined;
      void attempt();
    }, delay);
  };

  /** One start of tcpdump; resolves when it listens or has failed. */
  const attempt = async (): Promise<void> => {
    if (stopping) return;
    const check = await precheck(deps.tcpdump, config);
    if (stopping) return;
    if (!check.ok) {
      const message =
        check.kind === "filter"
          ? `bad capture filter '${config.filter ?? ""}' on ${config.interface}: ${check.message}`
          : check.message.startsWith(`${config.interface}:`)
            ? check.message
            : `${config.interface}: ${check.message}`;
      if (check.kind !== "device")
        log.error({ interface: config.interface, error: message }, "capture cannot start");
      fail(message, check.kind === "device");
      return;
    }
    await readInterfaceDrops();
    if (ring === undefined) {
      try {
        ring = makeRing(await nextRingSeq(dir, prefix));
      } catch (cause) {
        fail(`${config.interface}: cannot read ring directory ${dir}: ${(cause as Error).message}`, true);
        return;
      }
    }
    const writer = ring;
    run = zeroCounters();
    // No await between this check and `child = proc`: stop() either sees the child or this returns.
    if (stopping) return;
    const startedAt = deps.now();
    const proc = spawn(deps.tcpdump, writerArgs(config), { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    let lastError = "";
    let startResolve: () => void = () => undefined;
    const started = new Promise<void>((resolveStart) => {
      startResolve = resolveStart;
    });
    proc.stdout?.on("data", (chunk: Buffer) => {
      try {
        if (!writer.push(chunk)) {
          proc.stdout?.pause();
          void writer.drained().then(() => proc.stdout?.resume());
        }
      } catch (cause) {
        lastError = (cause as AppError).message;
        proc.kill("SIGKILL");
      }
    });
    const flushStderr =
      proc.stderr === null ? () => undefined : onLines(proc.stderr, (line) => onStderr(line));
    const onStderr = (line: string): void => {
      const parsed = parseStderrLine(line);
      if (parsed.kind === "listening") {
        running = true;
        error = "";
        log.info({ interface: config.interface, dir, prefix }, "capture writer listening");
        startResolve();
      } else if (parsed.kind === "stats") {
        Object.assign(run, parsed.counters);
        for (const waiter of statsWaiters.splice(0)) waiter();
      } else if (parsed.kind === "error") {
        lastError = parsed.message;
      }
    };
    exited = new Promise<void>((resolveExit) => {
      let done = false;
      const onExit = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void => {
        if (done) return;
        done = true;
        flushStderr();
        running = false;
        child = undefined;
        for (const key of Object.keys(run) as Array<keyof TcpdumpCounters>) base[key] += run[key];
        run = zeroCounters();
        void writer.endStream().then(() => {
          if (!stopping) {
            if (deps.now() - startedAt >= timing.stableMs) failures = 0;
            const reason =
              spawnError?.message ?? (lastError || `tcpdump exited (code ${code}, signal ${signal})`);
            fail(`${config.interface}: ${reason}`, true);
          }
          startResolve();
          resolveExit();
        });
      };
      proc.once("error", (spawnError) => onExit(null, null, spawnError));
      proc.once("close", (code, signal) => onExit(code, signal));
    });
    await started;
  };

  const makeRing = (firstSeq: number): RingWriter =>
    createRingWriter({
      dir,
      prefix,
      rotateBytes: config.rotateBytes,
      rotateSeconds: config.rotateSeconds,
      firstSeq,
      log,
      onClosed: retainQuietly,
      onWriteError: (writeError) => {
        error = writeError.message;
        log.error({ err: writeError.cause, error: writeError.message }, "capture file write failed");
        retainQuietly();
      },
    });

  /** SIGUSR1, then waits for tcpdump's counters line (at most a second). */
  const askCounters = async (): Promise<void> => {
    const proc = child;
    if (!running || proc === undefined) return;
    const answered = new Promise<void>((resolveStats) => {
      statsWaiters.push(resolveStats);
      setTimeout(resolveStats, 1000).unref();
    });
    proc.kill("SIGUSR1");
    await answered;
  };

  /** Waits until tcpdump has written every packet the kernel counted before the call. */
  const drain = async (): Promise<void> => {
    const until = Date.now() + timing.drainTimeoutMs;
    await askCounters();
    const target = run.receivedByFilter - run.droppedByKernel;
    while (running && run.captured < target && Date.now() < until) {
      await new Promise((resolveWait) => setTimeout(resolveWait, 50));
      await askCounters();
    }
  };

  const requestStats = (): void => {
    if (running) child?.kill("SIGUSR1");
    void readInterfaceDrops();
  };

  return {
    async start() {
      stopping = false;
      timers.push(setInterval(requestStats, timing.statsIntervalMs).unref());
      timers.push(setInterval(retainQuietly, timing.retentionIntervalMs).unref());
      timers.push(setInterval(() => ring?.tick(deps.now()), 1000).unref());
      await attempt();
    },
    async stop() {
      stopping = true;
      for (const timer of timers.splice(0)) clearInterval(timer);
      if (retry !== undefined) clearTimeout(retry);
      const proc = child;
      if (proc !== undefined) {
        await drain();
        proc.kill("SIGTERM");
        const killer = setTimeout(() => proc.kill("SIGKILL"), timing.stopTimeoutMs);
        await exited;
        clearTimeout(killer);
      }
      await ring?.endStream();
      await readInterfaceDrops();
    },
    stats() {
      const counters = ring?.counters;
      return {
        interface: config.interface,
        packetsReceived: base.receivedByFilter + run.receivedByFilter,
        packetsDroppedKernel: base.droppedByKernel + run.droppedByKernel,
        packetsDroppedInterface: interfaceDrops.value() ?? base.droppedByInterface + run.droppedByInterface,
        packetsWritten: counters?.packets ?? 0,
        bytesWritten: counters?.bytes ?? 0,
        filesWritten: counters?.files ?? 0,
        running,
        error,
      };
    },
    async refreshStats() {
      await askCounters();
      await readInterfaceDrops();
    },
    retain,
  };
}
