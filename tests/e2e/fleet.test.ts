/**
 * The fleet end to end, as real processes: `pcapfleet-collector run` (on embedded PGlite, and on
 * a scratch Postgres database with Redis when DATABASE_URL/REDIS_URL are set) and
 * `pcapfleet-agent run` on a generated ring. The agent registers through its heartbeats; the
 * REST API shows it online with the ring's figures; /metrics counts it; a WebSocket client sees
 * it go offline when the agent stops; both stop cleanly on SIGTERM.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type AgentProcess, startAgentProcess } from "../agent/agent-process.js";
import { type RingFile, writeRing } from "../agent/ring.js";
import { ensureBuilt } from "../slice/agent-bin.js";
import { processBackends, type ScratchDb } from "../support/backends.js";
import { type CollectorProcess, startCollectorProcess } from "../support/collector-process.js";
import { until } from "../support/wait.js";

const PASSWORD = "e2e-admin-password";

interface SensorRow {
  name: string;
  location: string;
  status: string;
  [key: string]: unknown;
}

const backends = processBackends();

describe.each(backends)("collector and agent processes on $name", ({ backend, redisUrl }) => {
  let work: string;
  let scratch: ScratchDb | undefined;
  let ring: RingFile[];
  let collector: CollectorProcess;
  let agentProcess: AgentProcess | undefined;
  let token: string;

  const api = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${collector.httpUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    await ensureBuilt();
    work = await mkdtemp(join(tmpdir(), "pf-e2e-"));
    if (backend.name === "postgres") scratch = await backend.create();
    ring = await writeRing(join(work, "ring"), {
      files: 3,
      fileBytes: 2 * 1024 * 1024,
      traffic: { seed: 21, start: { sec: Math.floor(Date.now() / 1000) - 600, nsec: 0 }, ratePps: 100 },
    });
    collector = await startCollectorProcess({
      dataDir: join(work, "data"),
      adminPassword: PASSWORD,
      databaseUrl: scratch?.url,
      redisUrl,
    });
    const login = await fetch(`${collector.httpUrl}/api/v1/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: PASSWORD }),
    });
    expect(login.status).toBe(200);
    token = ((await login.json()) as { access_token: string }).access_token;
  }, 120_000);

  afterAll(async () => {
    await agentProcess?.stop();
    await collector?.stop();
    await scratch?.drop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it("registers a real agent and shows it online with its ring's figures", async () => {
    agentProcess = await startAgentProcess(work, {
      sensor: "e2e-sensor",
      location: "lab-e2e",
      stores: [join(work, "ring")],
      stateDir: join(work, "state"),
      collector: collector.grpcAddress,
      heartbeatS: 0.5,
      quietMs: 200,
    });
    const sensor = await until("the sensor online", async () => {
      const { body } = await api("/api/v1/sensors");
      const rows = body["sensors"] as SensorRow[];
      return rows.find((row) => row.name === "e2e-sensor" && row.status !== "offline");
    });
    expect(sensor.location).toBe("lab-e2e");
    const status = await until("the whole ring reported", async () => {
      const { body } = await api("/api/v1/sensors/e2e-sensor/status");
      const text = JSON.stringify(body);
      return text.includes(String(ring.at(-1)?.lastNs)) || text.includes(`"files":${ring.length}`)
        ? body
        : undefined;
    });
    expect(JSON.stringify(status)).toContain(agentProcess.address);
    const devices = await api("/api/v1/sensors/e2e-sensor/devices");
    expect(devices.status).toBe(200);
    expect(JSON.stringify(devices.body)).toContain('"lo"');
    const locations = await api("/api/v1/locations");
    expect(JSON.stringify(locations.body)).toContain("lab-e2e");
    const metrics = await (await fetch(`${collector.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/pcapfleet_sensors\{status="(online|degraded)"\} 1/);
    expect(metrics).toMatch(/pcapfleet_heartbeats_total [1-9]/);
  });

  it("pushes the sensor's status change to a WebSocket client when the agent stops", async () => {
    const ws = new WebSocket(`${collector.httpUrl.replace("http", "ws")}/api/v1/ws`, ["bearer", token]);
    const events: Array<Record<string, unknown>> = [];
    ws.on("message", (data) => events.push(JSON.parse(data.toString()) as Record<string, unknown>));
    await until("hello", async () => (events.some((e) => e["type"] === "hello") ? true : undefined));
    expect(await agentProcess?.stop()).toBe(0);
    // Offline after 3 missed intervals of 0.5 s; the sweeper runs every 2 s.
    const offline = await until("offline event", async () =>
      events.find(
        (e) => e["type"] === "sensor.status" && e["sensor"] === "e2e-sensor" && e["status"] === "offline",
      ),
    );
    expect(offline).toMatchObject({ type: "sensor.status", sensor: "e2e-sensor", status: "offline" });
    ws.close();
    const { body } = await api("/api/v1/sensors/activity");
    expect(JSON.stringify(body)).toContain("offline");
  });

  it("stops cleanly on SIGTERM", async () => {
    expect(await collector.stop()).toBe(0);
  });
});
