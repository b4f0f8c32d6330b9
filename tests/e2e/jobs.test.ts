/**
 * PCAP jobs end to end, as real processes: `pcapfleet-collector run` (embedded PGlite; and a
 * scratch Postgres with Redis when DATABASE_URL/REDIS_URL are set) and `pcapfleet-agent run` on
 * generated rings. Sensor A is dialled through a TCP relay (its advertised address), so a test
 * can hold its stream mid-way and then break things for real: SIGKILL the agent, restart the
 * collector, cancel. Every merged result is compared packet by packet with tcpdump over
 * mergecap of the rings for the same window and filter.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, startAgentProcess } from "../agent/agent-process.js";
import { type RingFile, writeRing } from "../agent/ring.js";
import { ensureBuilt } from "../slice/agent-bin.js";
import { inWindow, line, Reference, readRecords } from "../slice/reference.js";
import { processBackends, type ScratchDb } from "../support/backends.js";
import { type CollectorProcess, startCollectorProcess } from "../support/collector-process.js";
import { finishedJob, restCall } from "../support/rest.js";
import { startTcpRelay, type TcpRelay } from "../support/tcp-relay.js";
import { freePort, until } from "../support/wait.js";

const PASSWORD = "jobs-admin-password";
const START_SEC = Math.floor(Date.now() / 1000) - 120;
const iso = (sec: number): string => new Date(sec * 1000).toISOString();
const WINDOW = { start_time: iso(START_SEC + 1), end_time: iso(START_SEC + 4) };
const HOLD_BYTES = 400_000;

interface Task {
  sensor: string;
  status: string;
  error_code: string | null;
  error_message: string | null;
  attempts: number;
  received_bytes: number;
  sha256: string | null;
}
interface Job {
  id: string;
  status: string;
  error_message: string | null;
  tasks: Task[];
  result: { sha256: string; bytes: number; packets: number } | null;
}

const backends = processBackends();

describe.each(backends)(
  "PCAP jobs across real processes on $name",
  { timeout: 90_000 },
  ({ backend, redisUrl }) => {
    let work: string;
    let scratch: ScratchDb | undefined;
    let rings: { a: RingFile[]; b: RingFile[] };
    let collector: CollectorProcess;
    let collectorOptions: Parameters<typeof startCollectorProcess>[0];
    let relay: TcpRelay;
    let agentA: AgentProcess;
    let agentAConfig: Record<string, unknown>;
    let agentB: AgentProcess;
    let token: string;

    const api = (path: string, init: RequestInit = {}) => restCall(collector.httpUrl, token, path, init);
    const login = async (): Promise<void> => {
      const response = await fetch(`${collector.httpUrl}/api/v1/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "admin", password: PASSWORD }),
      });
      token = ((await response.json()) as { access_token: string }).access_token;
    };
    const submit = async (body: Record<string, unknown>): Promise<string> => {
      const { status, body: job } = await api("/jobs", { method: "POST", body: JSON.stringify(body) });
      expect(status, JSON.stringify(job)).toBe(201);
      return job["id"] as string;
    };
    const job = async (id: string): Promise<Job> => (await api(`/jobs/${id}`)).body as unknown as Job;
    const finished = (id: string): Promise<Job> => finishedJob<Job>(api, id);
    const download = async (id: string, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`${collector.httpUrl}/api/v1/jobs/${id}/pcap`, {
        headers: { authorization: `Bearer ${token}`, ...headers },
      });
    /** tcpdump over mergecap of the given rings, in the job's window. */
    const reference = async (files: readonly RingFile[], filter: string): Promise<string[]> => {
      const dir = await mkdtemp(join(work, "ref-"));
      const records = await new Reference(
        files.map((f) => f.path),
        dir,
      ).matching(filter);
      const from = { sec: START_SEC + 1, nsec: 0 };
      const to = { sec: START_SEC + 4, nsec: 0 };
      return inWindow(records, from, to).map(line);
    };
    const resultLines = async (id: string): Promise<string[]> => {
      const response = await download(id);
      expect(response.status).toBe(200);
      return (await readRecords(new Uint8Array(await response.arrayBuffer()))).map(line);
    };

    beforeAll(async () => {
      await ensureBuilt();
      work = await mkdtemp(join(tmpdir(), "pf-jobs-"));
      if (backend.name === "postgres") scratch = await backend.create();
      const traffic = { start: { sec: START_SEC, nsec: 0 }, ratePps: 2000 };
      rings = {
        // Sensor A's ring is longer: the cancel test asks for all of it, more than the HTTP/2
        // window and the agent's read-ahead hold in flight, so the agent is still reading.
        a: await writeRing(join(work, "ring-a"), {
          files: 8,
          fileBytes: 3 * 1024 * 1024,
          traffic: { ...traffic, seed: 31 },
        }),
        b: await writeRing(join(work, "ring-b"), {
          files: 3,
          fileBytes: 3 * 1024 * 1024,
          traffic: { ...traffic, seed: 32 },
        }),
      };
      collectorOptions = {
        dataDir: join(work, "data"),
        adminPassword: PASSWORD,
        databaseUrl: scratch?.url,
        redisUrl,
        env: { PCAPFLEET_GRPC_LISTEN: `127.0.0.1:${await freePort()}` },
        config: {
          sensorStatus: { defaultHeartbeatIntervalSeconds: 0.5 },
          jobs: { retryBaseS: 0.2, retryMaxS: 1, maxAttempts: 10, leaseS: 5, pollMs: 200, idleTimeoutS: 30 },
        },
      };
      collector = await startCollectorProcess(collectorOptions);
      await login();
      const portA = await freePort();
      relay = await startTcpRelay(`127.0.0.1:${portA}`);
      agentAConfig = {
        sensor: "sensor-a",
        location: "site-a",
        stores: [join(work, "ring-a")],
        stateDir: join(work, "state-a"),
        collector: collector.grpcAddress,
        heartbeatS: 0.5,
        quietMs: 200,
        listen: `127.0.0.1:${portA}`,
        advertiseAddress: relay.address,
        // The collector restarts mid-job below: back online within the tasks' retries.
        reconnectMaxS: 2,
      };
      agentA = await startAgentProcess(work, agentAConfig);
      agentB = await startAgentProcess(work, {
        sensor: "sensor-b",
        location: "site-b",
        stores: [join(work, "ring-b")],
        stateDir: join(work, "state-b"),
        collector: collector.grpcAddress,
        heartbeatS: 0.5,
        quietMs: 200,
        reconnectMaxS: 2,
      });
      await until("both sensors online with their rings", async () => {
        const { body } = await api("/sensors");
        const rows = body["sensors"] as { name: string; status: string; pcap_newest_at?: string | null }[];
        const ready = rows.filter((r) => r.status !== "offline" && r.pcap_newest_at != null);
        return ready.length >= 2 ? true : undefined;
      });
    }, 180_000);

    afterAll(async () => {
      await agentA?.stop();
      await agentB?.stop();
      await relay?.close();
      await collector?.stop();
      await scratch?.drop();
      if (work !== undefined) await rm(work, { recursive: true, force: true });
    });

    it("estimates, then merges both sensors' slices into exactly tcpdump's packets over mergecap", async () => {
      const spec = { ...WINDOW, protocol: "tcp", sensors: ["sensor-a", "sensor-b"] };
      const estimate = await api("/jobs/estimate", { method: "POST", body: JSON.stringify(spec) });
      expect(estimate.status).toBe(200);
      const sensors = estimate.body["sensors"] as {
        sensor: string;
        coverage: string;
        packets: number | null;
        exact: boolean;
      }[];
      expect(sensors.map((s) => [s.sensor, s.coverage])).toEqual([
        ["sensor-a", "covered"],
        ["sensor-b", "covered"],
      ]);
      const id = await submit(spec);
      const done = await finished(id);
      expect(done.status, JSON.stringify(done)).toBe("complete");
      const expected = await reference([...rings.a, ...rings.b], "tcp");
      expect(expected.length).toBeGreaterThan(1000);
      const got = await resultLines(id);
      expect(got.length).toBe(expected.length);
      expect(got).toEqual(expected);
      // The estimate came from the indexes before the job ran: exact when the index could apply the
      // filter, an upper bound otherwise.
      const estimated = sensors.reduce((n, s) => n + (s.packets ?? 0), 0);
      if (sensors.every((s) => s.exact)) expect(estimated).toBe(expected.length);
      else expect(estimated).toBeGreaterThanOrEqual(expected.length);
      expect(done.result?.packets).toBe(expected.length);
      for (const task of done.tasks) expect(task.sha256).toMatch(/^[0-9a-f]{64}$/);

      const whole = await download(id);
      const etag = whole.headers.get("etag");
      expect(etag).toBe(`"${done.result?.sha256}"`);
      expect(whole.headers.get("content-type")).toBe("application/vnd.tcpdump.pcap");
      expect(whole.headers.get("content-disposition")).toMatch(
        /attachment; filename="pcapfleet-[0-9a-f]{8}-\d{8}T\d{6}Z-\d{8}T\d{6}Z\.pcap"/,
      );
      const bytes = Buffer.from(await whole.arrayBuffer());
      expect(bytes.length).toBe(done.result?.bytes);
      const part = await download(id, { range: "bytes=100-1099" });
      expect(part.status).toBe(206);
      expect(part.headers.get("content-range")).toBe(`bytes 100-1099/${bytes.length}`);
      expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 1100))).toBe(true);
      expect((await download(id, { "if-none-match": etag ?? "" })).status).toBe(304);
      expect((await download(id, { range: `bytes=${bytes.length}-` })).status).toBe(416);

      const analysis = await api(`/jobs/${id}/analysis`);
      expect(analysis.status).toBe(200);
      expect(analysis.body["packets"]).toBe(expected.length);

      const audit = await api(`/admin/audit?action=job.result`);
      expect(JSON.stringify(audit.body)).toContain(done.result?.sha256 ?? "missing");
    });

    it("resumes a task whose agent was killed mid-stream, and the result is still exact", async () => {
      const base = relay.holdAfter(HOLD_BYTES);
      const id = await submit({ ...WINDOW, sensors: ["sensor-a"] });
      await until("sensor A's stream held mid-way", async () =>
        relay.downstreamBytes() >= base + HOLD_BYTES && (await job(id)).tasks[0]?.status === "running"
          ? true
          : undefined,
      );
      agentA.child.kill("SIGKILL");
      await new Promise((resolve) => agentA.child.once("exit", resolve));
      relay.resume();
      agentA = await startAgentProcess(work, agentAConfig);
      const done = await finished(id);
      expect(done.status, JSON.stringify(done)).toBe("complete");
      expect(done.tasks[0]?.attempts).toBeGreaterThanOrEqual(2);
      expect(await resultLines(id)).toEqual(await reference(rings.a, ""));
    });

    it("finishes a job when the collector restarts in the middle of it", async () => {
      const base = relay.holdAfter(HOLD_BYTES);
      const id = await submit({ ...WINDOW, filter: "not icmp", sensors: ["sensor-a", "sensor-b"] });
      await until("sensor A's stream held mid-way", async () =>
        relay.downstreamBytes() >= base + HOLD_BYTES &&
        (await job(id)).tasks.find((t) => t.sensor === "sensor-a")?.status === "running"
          ? true
          : undefined,
      );
      // A hard kill on Postgres; PGlite keeps its data in the collector's own process, so it
      // gets the clean stop it needs to flush (the lease recovery is the same either way).
      if (backend.name === "postgres") {
        collector.child.kill("SIGKILL");
        await new Promise((resolve) => collector.child.once("exit", resolve));
      } else {
        await collector.stop();
      }
      relay.cutAll();
      relay.resume();
      collector = await startCollectorProcess(collectorOptions);
      await login();
      const done = await finished(id);
      expect(done.status, JSON.stringify(done)).toBe("complete");
      expect(await resultLines(id)).toEqual(await reference([...rings.a, ...rings.b], "not icmp"));
    });

    it("reports partial with sensor_offline when a target sensor is offline", async () => {
      const c = await startAgentProcess(work, {
        sensor: "sensor-c",
        location: "site-c",
        stores: [join(work, "ring-b")],
        stateDir: join(work, "state-c"),
        collector: collector.grpcAddress,
        heartbeatS: 0.5,
        quietMs: 200,
      });
      await until("sensor C registered", async () =>
        (await api("/sensors/sensor-c/status")).status === 200 ? true : undefined,
      );
      await c.stop();
      await until("sensor C offline", async () =>
        ((await api("/sensors/sensor-c/status")).body["status"] as string) === "offline" ? true : undefined,
      );
      const id = await submit({ ...WINDOW, protocol: "icmp", sensors: ["sensor-b", "sensor-c"] });
      const done = await finished(id);
      expect(done.status).toBe("partial");
      const offline = done.tasks.find((t) => t.sensor === "sensor-c");
      expect(offline).toMatchObject({ status: "failed", error_code: "sensor_offline" });
      expect(offline?.error_message).toMatch(/offline/);
      expect(done.tasks.find((t) => t.sensor === "sensor-b")?.status).toBe("complete");
      expect(await resultLines(id)).toEqual(await reference(rings.b, "icmp"));
    });

    it("completes with no_data tasks and a clear message for a window outside every ring", async () => {
      const id = await submit({
        start_time: "2001-01-01T00:00:00Z",
        end_time: "2001-01-01T01:00:00Z",
        sensors: ["sensor-a", "sensor-b"],
      });
      const done = await finished(id);
      expect(done.status).toBe("complete");
      for (const task of done.tasks) {
        expect(task).toMatchObject({ status: "no_data", error_code: "no_data_in_range" });
        expect(task.error_message).toMatch(/no data in range/);
      }
      expect(done.result?.packets).toBe(0);
    });

    it("cancels a running job and the agent stops reading", async () => {
      const base = relay.holdAfter(HOLD_BYTES);
      const id = await submit({
        start_time: iso(START_SEC),
        end_time: iso(START_SEC + 60),
        sensors: ["sensor-a"],
      });
      await until("sensor A's stream held mid-way", async () =>
        relay.downstreamBytes() >= base + HOLD_BYTES && (await job(id)).tasks[0]?.status === "running"
          ? true
          : undefined,
      );
      const before = agentA.output().length;
      const cancelled = await api(`/jobs/${id}`, { method: "DELETE" });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body["status"]).toBe("cancelled");
      await until("the agent to end the slice as cancelled", async () =>
        /"outcome":"cancelled"[^\n]*"msg":"slice ended"|"msg":"slice ended"[^\n]*"outcome":"cancelled"/.test(
          agentA.output().slice(before),
        )
          ? true
          : undefined,
      ).catch((error: unknown) => {
        throw new Error(
          `${(error as Error).message}; the agent said:\n${agentA.output().slice(before).slice(-3000)}`,
        );
      });
      relay.resume();
      expect((await api(`/jobs/${id}`, { method: "DELETE" })).status).toBe(409);
      expect((await job(id)).tasks[0]?.status).toBe("cancelled");
    });

    it("rejects bad jobs with a clear 400 and stores nothing", async () => {
      const before = ((await api("/jobs")).body["jobs"] as unknown[]).length;
      const bad = [
        { ...WINDOW, filter: "tcp port nonsense", sensors: ["sensor-a"] },
        { ...WINDOW, sensors: ["no-such-sensor"] },
        { start_time: WINDOW.end_time, end_time: WINDOW.start_time },
        { ...WINDOW, src_ip: "10.0.0.300" },
        { ...WINDOW, unknown_field: 1 },
      ];
      for (const body of bad) {
        const { status, body: error } = await api("/jobs", { method: "POST", body: JSON.stringify(body) });
        expect(status, JSON.stringify(error)).toBe(400);
        expect(error["code"]).toBe("invalid_argument");
      }
      const filterError = await api("/jobs", { method: "POST", body: JSON.stringify(bad[0]) });
      expect(filterError.body["message"]).toMatch(/bad filter/);
      expect(((await api("/jobs")).body["jobs"] as unknown[]).length).toBe(before);
      expect((await api("/jobs/not-a-uuid")).status).toBe(404);
    });
  },
);
