// Benchmark capture rings: a directory of rotated pcap files like a sensor's `tcpdump -C 128
// -W 16 -w ring.pcap` leaves (ring.pcap00 … ring.pcap15), generated once from the engine's
// seeded traffic generator and cached under .bench/ (gitignored). A cached ring is reused when
// its spec (and the generator's built code) is unchanged and every file is still there.
//
// Generation runs one worker thread per CPU. Each worker writes a block of consecutive files from
// one continuous generator; blocks take consecutive time slots, sized from a short pilot run so
// they do not overlap (a block may end a little before the next one starts). Seeds differ by
// multiples of 250, which keeps the simulated network's addresses: every block sees the same
// hosts in the same /24s (only the MAC addresses differ).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { TrafficGenerator } from "../../pcap/dist/synth/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Where generated data and stored results live (gitignored). */
export const BENCH_DIR = join(root, ".bench");

/** Default ring: 16 × 128 MiB = 2 GiB of mixed Ethernet traffic at 20 000 packets/s. */
export const DEFAULT_RING = Object.freeze({
  files: 16,
  fileBytes: 128 * 1024 * 1024,
  seed: 7,
  startSec: 1_700_000_000,
  ratePps: 20_000,
  hosts: 40,
  subnets: 4,
  linkType: 1,
});

/** Hash of the built generator code, so a changed generator never reuses an old ring. */
function generatorHash() {
  const dir = join(root, "pcap", "dist", "synth");
  const hash = createHash("sha256");
  for (const name of readdirSync(dir)
    .filter((n) => n.endsWith(".js"))
    .sort()) {
    hash.update(name).update(readFileSync(join(dir, name)));
  }
  return hash.digest("hex").slice(0, 16);
}

function ip(buf) {
  return [...buf].join(".");
}

function cached(dir, spec) {
  const metaPath = join(dir, "meta.json");
  if (!existsSync(metaPath)) return null;
  const meta = JSON.parse(readFileSync(metaPath, "utf8"));
  if (JSON.stringify(meta.spec) !== JSON.stringify(spec)) return null;
  const intact = meta.files.every((f) => existsSync(f.path) && statSync(f.path).size === f.bytes);
  return intact ? meta : null;
}

/**
 * A pilot run of the traffic `options` describe: mean record size (header + data), and the share
 * of packets whose headers (first 64 bytes) carry the IPv4 address `host`.
 */
function pilot(options, host) {
  const gen = new TrafficGenerator({ ...options, packets: 20_000 });
  let bytes = 0;
  let n = 0;
  let hits = 0;
  for (let p = gen.next(); p !== undefined; p = gen.next(), n++) {
    bytes += 16 + p.data.length;
    const at = p.data.indexOf(host);
    if (at >= 0 && at < 64) hits += 1;
  }
  return { recordBytes: bytes / n, hostShare: hits / n };
}

function runWorker(workerData, onFile) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./ring-worker.mjs", import.meta.url), { workerData, execArgv: [] });
    worker.on("message", onFile);
    worker.on("error", reject);
    worker.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`ring worker exited ${code}`))));
  });
}

/**
 * Returns a ring for `overrides` of {@link DEFAULT_RING}, generating it when no cached copy
 * matches. The result: `dir`, `files` (path, bytes, packets, first/last [sec, nsec]), totals,
 * time range, `subnets`, a `host` and a `server` address that occur in the traffic, and how the
 * ring was obtained (`generated` with `seconds` and `mbps`, or reused).
 */
export async function ensureRing(overrides = {}, log = () => undefined) {
  const spec = { ...DEFAULT_RING, ...overrides, generator: generatorHash() };
  const id = createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 12);
  const dir = join(BENCH_DIR, `ring-${id}`);
  const reused = cached(dir, spec);
  if (reused !== null) return { ...reused, generated: false };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const traffic = {
    hosts: spec.hosts,
    subnets: spec.subnets,
    ratePps: spec.ratePps,
    linkType: spec.linkType,
  };
  const workers = Math.max(1, Math.min(availableParallelism(), spec.files));
  const perWorker = Math.ceil(spec.files / workers);
  const network = new TrafficGenerator({ ...traffic, seed: spec.seed, packets: 0 }).network;
  const host = network.hosts[7].ipv4;
  const { recordBytes, hostShare } = pilot({ ...traffic, seed: spec.seed }, host);
  // Seconds a block of files lasts, with 5% to spare so consecutive blocks never overlap.
  const slot = Math.ceil(((perWorker * spec.fileBytes) / (recordBytes * spec.ratePps)) * 1.05);
  const names = Array.from({ length: spec.files }, (_, i) =>
    join(dir, `ring.pcap${String(i).padStart(2, "0")}`),
  );
  const files = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, (_, w) =>
      runWorker(
        {
          paths: names.slice(w * perWorker, (w + 1) * perWorker),
          fileBytes: spec.fileBytes,
          linkType: spec.linkType,
          traffic: {
            ...traffic,
            seed: spec.seed + 250 * w,
            start: { sec: spec.startSec + w * slot, nsec: 0 },
          },
        },
        (file) => {
          files.push(file);
          log(`ring: ${file.path.split("/").at(-1)} ${(file.bytes / 2 ** 20).toFixed(0)} MiB`);
        },
      ),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  files.sort((a, b) => a.path.localeCompare(b.path));
  const bytes = files.reduce((sum, f) => sum + f.bytes, 0);
  const meta = {
    spec,
    dir,
    files,
    bytes,
    packets: files.reduce((sum, f) => sum + f.packets, 0),
    start: files[0]?.first,
    end: files.at(-1)?.last,
    subnets: network.subnets.map((s) => s.ipv4Cidr),
    // A selective filter target: one client among the hosts, and its share of the packets.
    host: ip(host),
    hostShare,
    server: ip(network.servers[3].ipv4),
    generation: { seconds, mbps: bytes / 1e6 / seconds, workers },
  };
  writeFileSync(join(dir, "meta.json"), `${JSON.stringify(meta, null, 2)}\n`);
  return { ...meta, generated: true };
}
