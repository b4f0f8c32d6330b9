#!/usr/bin/env node
// `npm run demo`: the product on embedded defaults. Generates two sample rings (a few minutes of
// mixed traffic ending now, two sites with their own subnets), starts the collector on embedded
// PGlite and the in-process store, and one agent per ring; prints the dashboard URL and the admin
// login. Ctrl-C (or SIGTERM) stops everything cleanly. State lives in .demo/ (PCAPFLEET_DEMO_DIR);
// the admin password is generated once and kept there, so later runs log in with the same one.
// PCAPFLEET_HTTP_LISTEN / PCAPFLEET_GRPC_LISTEN choose the collector's addresses.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const demoDir = process.env.PCAPFLEET_DEMO_DIR ?? join(root, ".demo");
const SAMPLE_SECONDS = 180;
const RING_KEEP_SECONDS = 15 * 60;
const SITES = [
  { sensor: "demo-hq", location: "hq", seed: 101, subnets: 4, hosts: 30, ratePps: 400 },
  { sensor: "demo-branch", location: "branch", seed: 351, subnets: 2, hosts: 12, ratePps: 150 },
];

const { TrafficGenerator } = await import(join(root, "pcap", "dist", "synth", "index.js"));
const { createPcapWriter } = await import(join(root, "pcap", "dist", "format", "index.js"));

/**
 * A live sample ring: SAMPLE_SECONDS of traffic ending now, then packets up to the current time
 * every second, in files rotated every 30 s of packet time (like `tcpdump -G 30`); files older
 * than RING_KEEP_SECONDS are deleted, as a ring would overwrite them.
 */
class SampleRing {
  constructor(dir, site) {
    this.dir = dir;
    this.site = site;
    this.start = Math.floor(Date.now() / 1000) - SAMPLE_SECONDS;
    this.gen = new TrafficGenerator({
      seed: site.seed,
      start: { sec: this.start, nsec: 0 },
      ratePps: site.ratePps,
      hosts: site.hosts,
      subnets: site.subnets,
    });
    this.next = this.gen.next();
    this.writer = undefined;
    this.fileEnd = 0;
    this.files = [];
    this.bytes = 0;
    this.busy = Promise.resolve();
  }

  /** Writes every packet stamped before now. */
  catchUp() {
    this.busy = this.busy.then(async () => {
      const now = Date.now() / 1000;
      let p = this.next;
      while (p !== undefined && p.tsSec + p.tsNsec / 1e9 < now) {
        if (this.writer === undefined || p.tsSec >= this.fileEnd) await this.rotate(p.tsSec);
        if (!this.writer.writePacket(p.data, 0, p.data.length, p.origLen, p.tsSec, p.tsNsec))
          await this.writer.drain();
        p = this.gen.next();
      }
      this.next = p;
      await this.writer?.flush();
    });
    return this.busy;
  }

  async rotate(sec) {
    if (this.writer !== undefined) {
      await this.writer.close();
      this.bytes += this.writer.bytesWritten;
    }
    const slot = sec - ((sec - this.start) % 30);
    this.fileEnd = slot + 30;
    const path = join(this.dir, `${this.site.sensor}-${slot}.pcap`);
    this.writer = await createPcapWriter(path, { linkType: 1 });
    this.files.push({ path, slot });
    while (this.files.length > 0 && this.files[0].slot < sec - RING_KEEP_SECONDS) {
      rmSync(this.files.shift().path, { force: true });
    }
  }

  async close() {
    await this.busy;
    await this.writer?.close();
  }
}

/** Starts a bin, prefixing its output lines; resolves when `ready` matches its stdout. */
function start(name, args, env, ready) {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  const matched = new Promise((resolve, reject) => {
    child.stdout.on("data", (chunk) => {
      text += chunk.toString();
      const match = ready.exec(text);
      if (match) resolve(match);
    });
    exited.then((code) => reject(new Error(`${name} exited with ${code}:\n${text}`)));
  });
  // Warnings and errors (JSON log lines) are shown; info lines stay out of the demo's way.
  child.stderr.on("data", (chunk) => process.stderr.write(`[${name}] ${chunk}`));
  return { child, matched, exited, output: () => text };
}

mkdirSync(demoDir, { recursive: true });
const passwordFile = join(demoDir, "admin-password");
if (!existsSync(passwordFile))
  writeFileSync(passwordFile, `${randomBytes(12).toString("base64url")}\n`, { mode: 0o600 });
const password = readFileSync(passwordFile, "utf8").trim();

const children = [];
const rings = [];
let ringTimer;
let stopping = false;
async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  console.log("\nStopping the demo...");
  clearInterval(ringTimer);
  for (const ring of rings) await ring.close().catch(() => undefined);
  // Agents first (their last heartbeat reaches the collector), then the collector.
  for (const entry of children.slice().reverse()) {
    if (entry.child.exitCode === null) entry.child.kill("SIGTERM");
    await entry.exited;
  }
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

try {
  for (const site of SITES) {
    const dir = join(demoDir, "rings", site.sensor);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const ring = new SampleRing(dir, site);
    await ring.catchUp();
    rings.push(ring);
    console.log(
      `Sample ring for ${site.sensor} (${site.location}): ${site.ratePps} packets/s, ${SAMPLE_SECONDS / 60} minutes written, live from now on`,
    );
  }
  ringTimer = setInterval(() => {
    for (const ring of rings)
      ring.catchUp().catch((error) => console.error(`pcapfleet demo: ring: ${error.message}`));
  }, 1000);
  const collector = start(
    "collector",
    [join(root, "collector", "bin", "pcapfleet-collector.js"), "run"],
    {
      PCAPFLEET_DATA_DIR: join(demoDir, "collector"),
      PCAPFLEET_ADMIN_PASSWORD: password,
      PCAPFLEET_LOG_LEVEL: process.env.PCAPFLEET_LOG_LEVEL ?? "warn",
      DATABASE_URL: "",
      REDIS_URL: "",
    },
    /Dashboard: (\S+)\n[\s\S]*?gRPC: (\S+)\n/,
  );
  children.push(collector);
  const [, dashboard, grpc] = await collector.matched;
  for (const site of SITES) {
    const config = join(demoDir, `${site.sensor}.yaml`);
    writeFileSync(
      config,
      [
        `sensor: ${site.sensor}`,
        `location: ${site.location}`,
        `stores: [${JSON.stringify(join(demoDir, "rings", site.sensor))}]`,
        `stateDir: ${JSON.stringify(join(demoDir, "agents", site.sensor))}`,
        `collector: ${grpc}`,
        "listen: 127.0.0.1:0",
        "heartbeatS: 5",
        "quietMs: 1000",
        `logLevel: ${process.env.PCAPFLEET_LOG_LEVEL ?? "warn"}`,
        "",
      ].join("\n"),
    );
    const agent = start(
      site.sensor,
      [join(root, "agent", "bin", "pcapfleet-agent.js"), "run", "--config", config],
      {},
      /serving on (\S+)/,
    );
    children.push(agent);
    const [, address] = await agent.matched;
    console.log(`Agent ${site.sensor} (${site.location}) serving on ${address}`);
  }
  console.log(`Dashboard: ${dashboard}`);
  console.log(`Login: admin / ${password}`);
  console.log("Press Ctrl-C to stop.");
  const first = await Promise.race(children.map((entry) => entry.exited.then((code) => ({ entry, code }))));
  if (!stopping) {
    console.error(`pcapfleet demo: a process exited unexpectedly (code ${first.code}); stopping.`);
    await stopAll(1);
  }
} catch (error) {
  console.error(`pcapfleet demo: ${error instanceof Error ? error.message : String(error)}`);
  await stopAll(1);
}
