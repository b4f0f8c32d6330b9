/**
 * Helpers of the CaptureService tests: rings generated with the engine's traffic synthesiser
 * and written with the format fixtures, indexed with the engine's indexer; a catalogue of a
 * fixed store that counts pins; the slice worker built from the sources; and a real gRPC
 * server and client on loopback.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { create } from "@bufbuild/protobuf";
import { createLogger, type Logger } from "@pcapfleet/core";
import {
  type CaptureFile,
  type ClassicVariant,
  classicFixture,
  type FixturePacket,
  generateTraffic,
  type Instant,
  indexStores,
  scanStores,
  TrafficGenerator,
  type TrafficOptions,
} from "@pcapfleet/pcap";
import {
  bindService,
  CaptureService,
  createChannel,
  createClient,
  createGrpcServer,
  listen,
  SensorStatusSchema,
  type TypedClient,
} from "@pcapfleet/proto";
import { afterAll, beforeAll } from "vitest";
import { type BusyTasks, createBusyTasks } from "../tasks/busy-tasks.js";
import { type CaptureServiceDeps, createCaptureService } from "./capture-service.js";
import { createSliceWorkers, type SliceWorkers, type SliceWorkersOptions } from "./slice-workers.js";

/** First timestamp of generated rings. */
export const START = 1_700_000_000;

/** Nanoseconds since the epoch of `sec` seconds and `nsec` nanoseconds. */
export const ns = (sec: number, nsec = 0): bigint => BigInt(sec) * 1_000_000_000n + BigInt(nsec);

/** The {@link Instant} of `value` nanoseconds since the epoch. */
export const instant = (value: bigint): Instant => ({
  sec: Number(value / 1_000_000_000n),
  nsec: Number(value % 1_000_000_000n),
});

/** The IPv4 address of host `index` of the network `options` generate ("10.0.0.1" beyond it). */
export function hostV4Of(options: Partial<TrafficOptions>, index: number): string {
  const host = new TrafficGenerator(options).network.hosts[index];
  return host === undefined ? "10.0.0.1" : [...host.ipv4].join(".");
}

/** The temporary directory of a suite and the services it serves; see {@link serviceSuite}. */
export interface ServiceSuite {
  /** The suite's temporary directory: rings go below it. */
  readonly work: string;
  /** `work/state`: the indexes. */
  readonly stateDir: string;
  /** The slice worker built from the sources (see {@link buildSliceWorker}). */
  readonly workerEntry: URL;
  /** {@link serve} on `stateDir` with a pool of the suite's worker, closed after the suite. */
  serve(catalogue: FixedCatalogue, extra?: ServeExtra): Promise<ServedCapture>;
}

/** Options of {@link serve} beyond the catalogue. */
export interface ServeExtra extends Partial<Pick<CaptureServiceDeps, "chunkBytes">> {
  /** Options of the service's worker pool (its entry is the suite's worker). */
  readonly workers?: Partial<SliceWorkersOptions>;
}

/**
 * Bundles slice-worker.ts and the workspace sources it imports (the "source" condition, as
 * vitest resolves them) into `dir`: Node 20 cannot run a TypeScript worker, and the compiled
 * one in dist/ may be older than the sources under test. Returns the bundle's URL.
 */
export async function buildSliceWorker(dir: string): Promise<URL> {
  const esbuild = await import("esbuild");
  const outfile = join(dir, "slice-worker.mjs");
  await esbuild.build({
    entryPoints: [join(import.meta.dirname, "slice-worker.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["source"],
    logLevel: "warning",
    plugins: [
      {
        name: "workspace-sources-only",
        setup(build) {
          // Packages other than the workspace's stay imports (the worker uses none today).
          build.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith("@pcapfleet/") ? undefined : { path: args.path, external: true },
          );
        },
      },
    ],
  });
  return pathToFileURL(outfile);
}

/**
 * Registers, in the calling file, a beforeAll that makes the suite's directory (named from
 * `prefix`) and an afterAll that closes what the suite served and removes the directory. Call
 * it before the suite's own beforeAll, which then finds `work` made.
 */
export function serviceSuite(prefix: string): ServiceSuite {
  let work = "";
  let workerEntry: URL | undefined;
  const served: ServedCapture[] = [];
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), prefix));
    workerEntry = await buildSliceWorker(work);
  });
  afterAll(async () => {
    for (const capture of served.splice(0)) await capture.close();
    if (work !== "") await rm(work, { recursive: true, force: true });
  });
  return {
    get work() {
      return work;
    },
    get stateDir() {
      return join(work, "state");
    },
    get workerEntry() {
      if (workerEntry === undefined) throw new Error("the suite's beforeAll has not run");
      return workerEntry;
    },
    async serve(catalogue, extra = {}) {
      const workers = { ...extra.workers, entry: this.workerEntry };
      const capture = await serve(catalogue, join(work, "state"), { ...extra, workers });
      served.push(capture);
      return capture;
    },
  };
}

/** Writes `options`' traffic as `files` classic pcap files in `dir`, cycling through `variants`. */
export async function writeRing(
  dir: string,
  options: Partial<TrafficOptions>,
  files: number,
  variants: readonly ClassicVariant[] = ["nsec-le", "usec-be"],
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const packets: FixturePacket[] = [...generateTraffic(options)].map((p) => ({
    data: p.data,
    tsSec: p.tsSec,
    tsNsec: p.tsNsec,
    origLen: p.origLen,
  }));
  const per = Math.ceil(packets.length / files);
  for (let i = 0; i < files; i++) {
    const variant = variants[i % variants.length] as ClassicVariant;
    const bytes = classicFixture(packets.slice(i * per, (i + 1) * per), { variant });
    await writeFile(join(dir, `ring-${String(i).padStart(3, "0")}.pcap`), bytes);
  }
}

/** Indexes every capture of `stores` into `stateDir`. */
export async function indexRing(stores: readonly string[], stateDir: string): Promise<void> {
  const { files } = await scanStores(stores);
  await indexStores({ files, stateDir });
}

/**
 * The catalogue of a store scanned once (the agent's live catalogue watches and rescans; that
 * is not what these tests are about), with pin counts to check that slices pin and release.
 */
export interface FixedCatalogue {
  files(): readonly CaptureFile[];
  pin(paths: readonly string[]): () => void;
  /** Pins held now, per path (paths without pins absent). */
  readonly pins: Map<string, number>;
  /** Total pin calls so far. */
  pinCalls: number;
}

/** Scans `stores` once into a {@link FixedCatalogue}. */
export async function fixedCatalogue(stores: readonly string[]): Promise<FixedCatalogue> {
  const { files } = await scanStores(stores);
  const catalogue: FixedCatalogue = {
    files: () => files,
    pins: new Map(),
    pinCalls: 0,
    pin(paths) {
      catalogue.pinCalls++;
      for (const path of paths) catalogue.pins.set(path, (catalogue.pins.get(path) ?? 0) + 1);
      let released = false;
      return () => {
        if (released) throw new Error("pin released twice");
        released = true;
        for (const path of paths) {
          const left = (catalogue.pins.get(path) ?? 0) - 1;
          if (left > 0) catalogue.pins.set(path, left);
          else catalogue.pins.delete(path);
        }
      };
    },
  };
  return catalogue;
}

/** A served CaptureService with a client. */
export interface ServedCapture {
  readonly client: TypedClient<typeof CaptureService>;
  readonly tasks: BusyTasks;
  /** The service's slice workers. */
  readonly workers: SliceWorkers;
  /** Parsed log lines of the service. */
  readonly logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** Serves a CaptureService over `catalogue` on 127.0.0.1, port 0. */
export async function serve(
  catalogue: FixedCatalogue,
  stateDir: string,
  extra: ServeExtra = {},
): Promise<ServedCapture> {
  const logs: Record<string, unknown>[] = [];
  const log: Logger = createLogger({
    name: "capture-service-test",
    level: "info",
    destination: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const tasks = createBusyTasks();
  const workers = createSliceWorkers(extra.workers);
  const service = createCaptureService({
    catalogue,
    stateDir,
    status: async () =>
      create(SensorStatusSchema, { identity: { name: "test-sensor" }, busyTasks: tasks.list() }),
    tasks,
    log,
    sliceWorkers: workers,
    ...(extra.chunkBytes === undefined ? {} : { chunkBytes: extra.chunkBytes }),
  });
  const server = createGrpcServer({ log, services: [bindService(CaptureService, service)] });
  const port = await listen(server.server, "127.0.0.1:0");
  const channel = createChannel(`127.0.0.1:${port}`);
  return {
    client: createClient(CaptureService, channel),
    tasks,
    workers,
    logs,
    async close() {
      channel.close();
      await server.shutdown(1000);
      await workers.close();
    },
  };
}

/** Polls `check` until it is true or `ms` pass; false on timeout. */
export async function waitFor(check: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}
