/**
 * TLS between agents and collector, as real processes: `pcapfleet-collector run` and
 * `pcapfleet-agent run` with `tls` blocks naming certificates made by the real `openssl` in the
 * test. The agent's heartbeats arrive over TLS, a job slices the agent over mutual TLS with
 * exactly tcpdump's packet count, the agent's CaptureService refuses plaintext callers and TLS
 * callers without a fleet certificate, and the `pcapfleet` CLI reaches the collector with `--ca`
 * and, without it, fails with one line that says to pass `--ca`.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { GrpcStatus } from "@pcapfleet/core";
import {
  CaptureService,
  caOnlyCredentials,
  channelCredentials,
  createChannel,
  createClient,
} from "@pcapfleet/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, type TestPki } from "../../proto/src/tls-testing.js";
import { type AgentProcess, startAgentProcess } from "../agent/agent-process.js";
import { type RingFile, writeRing } from "../agent/ring.js";
import { cli } from "../cli/fleet.js";
import { ensureBuilt, ROOT } from "../slice/agent-bin.js";
import { inWindow, line, Reference } from "../slice/reference.js";
import { processBackends, type ScratchDb } from "../support/backends.js";
import { type CollectorProcess, startCollectorProcess } from "../support/collector-process.js";
import { finishedJob, restCall } from "../support/rest.js";
import { freePort, until } from "../support/wait.js";

const PASSWORD = "tls-admin-password";
const START_SEC = Math.floor(Date.now() / 1000) - 120;
const iso = (sec: number): string => new Date(sec * 1000).toISOString();

interface Job {
  id: string;
  status: string;
  tasks: { sensor: string; status: string; error_message: string | null }[];
  result: { packets: number } | null;
}

const backends = processBackends();

describe.each(backends)(
  "TLS between real agent, collector and CLI on $name",
  { timeout: 90_000 },
  ({ backend, redisUrl }) => {
    let work: string;
    let scratch: ScratchDb | undefined;
    let pki: TestPki;
    let ring: RingFile[];
    let collector: CollectorProcess;
    let agent: AgentProcess;
    let token: string;
    const channels: grpc.Client[] = [];

    const api = (path: string, init: RequestInit = {}) => restCall(collector.httpUrl, token, path, init);

    /** Slices the agent with `credentials`; resolves to the grpc status the call ended with. */
    const sliceStatus = async (credentials: grpc.ChannelCredentials): Promise<number> => {
      const channel = createChannel(agent.address, credentials);
      channels.push(channel);
      const { responses } = createClient(CaptureService, channel).slice(
        {
          taskId: "tls-probe",
          window: {
            startNs: BigInt(START_SEC) * 1_000_000_000n,
            endNs: BigInt(START_SEC + 1) * 1_000_000_000n,
          },
        },
        { deadline: Date.now() + 10_000 },
      );
      try {
        for await (const _ of responses) {
          // Reading is all a refused caller must not get to do.
        }
        return GrpcStatus.OK;
      } catch (error) {
        return (error as grpc.ServiceError).code;
      }
    };

    beforeAll(async () => {
      await ensureBuilt();
      work = await mkdtemp(join(tmpdir(), "pf-tls-e2e-"));
      await mkdir(join(work, "pki"));
      pki = createTestPki(join(work, "pki"));
      if (backend.name === "postgres") scratch = await backend.create();
      ring = await writeRing(join(work, "ring"), {
        files: 2,
        fileBytes: 2 * 1024 * 1024,
        traffic: { start: { sec: START_SEC, nsec: 0 }, ratePps: 2000, seed: 51 },
      });
      collector = await startCollectorProcess({
        dataDir: join(work, "data"),
        adminPassword: PASSWORD,
        databaseUrl: scratch?.url,
        redisUrl,
        // 127.0.0.1, which the certificate's SAN covers (the banner prints the listen host).
        env: { PCAPFLEET_GRPC_LISTEN: `127.0.0.1:${await freePort()}` },
        config: {
          sensorStatus: { defaultHeartbeatIntervalSeconds: 0.5 },
          jobs: { retryBaseS: 0.2, retryMaxS: 1, maxAttempts: 3, leaseS: 5, pollMs: 200 },
          tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca },
        },
      });
      const login = await fetch(`${collector.httpUrl}/api/v1/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "admin", password: PASSWORD }),
      });
      token = ((await login.json()) as { access_token: string }).access_token;
      agent = await startAgentProcess(work, {
        sensor: "tls-sensor",
        location: "tls-site",
        stores: [join(work, "ring")],
        stateDir: join(work, "state"),
        collector: collector.grpcAddress,
        heartbeatS: 0.5,
        quietMs: 200,
        tls: { cert: pki.client.cert, key: pki.client.key, ca: pki.ca },
      });
    }, 180_000);

    afterAll(async () => {
      for (const channel of channels) channel.close();
      await agent?.stop();
      await collector?.stop();
      await scratch?.drop();
      if (work !== undefined) await rm(work, { recursive: true, force: true });
    });

    it("receives the agent's heartbeats over TLS: the sensor is online with its ring", async () => {
      const sensor = await until("the sensor online with its ring", async () => {
        const rows = (await api("/sensors")).body["sensors"] as {
          name: string;
          status: string;
          pcap_newest_at?: string | null;
        }[];
        return rows.find(
          (r) => r.name === "tls-sensor" && r.status !== "offline" && r.pcap_newest_at != null,
        );
      });
      expect(sensor.status).toMatch(/^(online|degraded)$/);
    });

    it("runs a job over the agent's mutual TLS with tcpdump's packet count", async () => {
      const window = { start_time: iso(START_SEC + 1), end_time: iso(START_SEC + 3) };
      const submitted = await api("/jobs", {
        method: "POST",
        body: JSON.stringify({ ...window, protocol: "tcp", sensors: ["tls-sensor"] }),
      });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
      const id = submitted.body["id"] as string;
      const done = await finishedJob<Job>(api, id);
      expect(done.status, JSON.stringify(done.tasks)).toBe("complete");
      const records = await new Reference(
        ring.map((file) => file.path),
        await mkdtemp(join(work, "ref-")),
      ).matching("tcp");
      const expected = inWindow(
        records,
        { sec: START_SEC + 1, nsec: 0 },
        { sec: START_SEC + 3, nsec: 0 },
      ).map(line);
      expect(expected.length).toBeGreaterThan(1000);
      expect(done.result?.packets).toBe(expected.length);
    });

    it("fails a task to a sensor whose certificate the collector does not trust, saying TLS", async () => {
      // Its heartbeats reach the collector (which asks no client certificate), but the
      // collector cannot verify the certificate it serves slices with.
      const foreign = await startAgentProcess(work, {
        sensor: "foreign-sensor",
        location: "tls-site",
        stores: [join(work, "ring")],
        stateDir: join(work, "state-foreign"),
        collector: collector.grpcAddress,
        heartbeatS: 0.5,
        quietMs: 200,
        tls: { cert: pki.otherClient.cert, key: pki.otherClient.key, ca: pki.ca },
      });
      try {
        await until("the foreign sensor online", async () => {
          const rows = (await api("/sensors")).body["sensors"] as { name: string; status: string }[];
          return rows.find((r) => r.name === "foreign-sensor" && r.status !== "offline");
        });
        const submitted = await api("/jobs", {
          method: "POST",
          body: JSON.stringify({
            start_time: iso(START_SEC + 1),
            end_time: iso(START_SEC + 2),
            sensors: ["foreign-sensor"],
          }),
        });
        expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
        const id = submitted.body["id"] as string;
        const done = await finishedJob<Job>(api, id);
        expect(done.status).toBe("failed");
        expect(done.tasks[0]?.error_message).toMatch(
          /^TLS handshake with sensor foreign-sensor \(127\.0\.0\.1:\d+\) failed: .+; the sensor's certificate must be signed by the collector's tls\.ca/,
        );
      } finally {
        await foreign.stop();
      }
    });

    it("lets only holders of a fleet certificate slice the agent", async () => {
      expect(await sliceStatus(grpc.credentials.createInsecure())).toBe(GrpcStatus.UNAVAILABLE);
      expect(await sliceStatus(caOnlyCredentials(pki.ca))).toBe(GrpcStatus.UNAVAILABLE);
      // A certificate of another CA is refused too; one of the fleet CA slices.
      const other = { cert: pki.otherClient.cert, key: pki.otherClient.key, ca: pki.ca };
      expect(await sliceStatus(channelCredentials(other))).toBe(GrpcStatus.UNAVAILABLE);
      const fleet = { cert: pki.server.cert, key: pki.server.key, ca: pki.ca };
      expect(await sliceStatus(channelCredentials(fleet))).toBe(GrpcStatus.OK);
    });

    it("lets the CLI list sensors with --ca, and says to pass --ca without it", async () => {
      const env = {
        XDG_CONFIG_HOME: join(work, "config"),
        PCAPFLEET_COLLECTOR_GRPC: collector.grpcAddress,
        PCAPFLEET_TOKEN: token,
      };
      const listed = await cli(["sensors", "ls", "--json", "--ca", pki.ca], env);
      expect(listed.stderr).toBe("");
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain('"tls-sensor"');
      const plain = await cli(["sensors", "ls"], env);
      expect(plain.code).toBe(7);
      expect(plain.stdout).toBe("");
      expect(plain.stderr).toMatch(
        /^pcapfleet sensors ls: the collector at 127\.0\.0\.1:\d+ closed a plaintext connection before gRPC started: it probably requires TLS; pass --ca FILE \(or set PCAPFLEET_CA\) naming the CA of its certificate\n$/,
      );
      const wrong = await cli(["sensors", "ls", "--ca", pki.otherCa], env);
      expect(wrong.code).toBe(7);
      expect(wrong.stderr).toMatch(
        /^pcapfleet sensors ls: TLS handshake with the collector at .* failed: self[- ]signed certificate/,
      );
    });

    it("keeps the CA that login used for the commands that follow", async () => {
      const env = {
        XDG_CONFIG_HOME: join(work, "config-login"),
        PCAPFLEET_COLLECTOR_GRPC: collector.grpcAddress,
      };
      const login = await cli(
        ["login", "--user", "admin", "--password-stdin", "--ca", pki.ca],
        env,
        `${PASSWORD}\n`,
      );
      expect(login.stderr).toBe("");
      expect(login.code).toBe(0);
      const listed = await cli(["sensors", "ls", "--json"], env);
      expect(listed.stderr).toBe("");
      expect(listed.stdout).toContain('"tls-sensor"');
    });
  },
);

describe("a bad TLS file", () => {
  it("stops the agent and the collector at start with one line naming the file, exit 2", async () => {
    await ensureBuilt();
    const dir = await mkdtemp(join(tmpdir(), "pf-tls-bad-"));
    try {
      const pki = createTestPki(dir);
      const run = (bin: string, env: Record<string, string>) =>
        new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
          const child = spawn(process.execPath, [join(ROOT, bin), "run"], {
            cwd: ROOT,
            env: { ...process.env, ...env },
            stdio: ["ignore", "ignore", "pipe"],
          });
          let stderr = "";
          child.stderr.on("data", (chunk: Buffer) => {
            stderr += chunk.toString();
          });
          child.on("error", reject);
          child.on("close", (code) => resolve({ code, stderr }));
        });
      const agent = await run("agent/bin/pcapfleet-agent.js", {
        PCAPFLEET_STATE_DIR: join(dir, "state"),
        PCAPFLEET_AGENT_LISTEN: "127.0.0.1:0",
        PCAPFLEET_TLS_CERT: pki.client.cert,
        PCAPFLEET_TLS_KEY: pki.server.key,
        PCAPFLEET_TLS_CA: pki.ca,
      });
      expect(agent).toEqual({
        code: 2,
        stderr: `pcapfleet-agent run: config: tls.key: ${pki.server.key} is not the private key of the certificate in ${pki.client.cert}\n`,
      });
      const collector = await run("collector/bin/pcapfleet-collector.js", {
        PCAPFLEET_DATA_DIR: join(dir, "data"),
        PCAPFLEET_HTTP_LISTEN: "127.0.0.1:0",
        PCAPFLEET_GRPC_LISTEN: "127.0.0.1:0",
        PCAPFLEET_TLS_CERT: pki.server.cert,
        PCAPFLEET_TLS_KEY: pki.server.key,
        PCAPFLEET_TLS_CA: join(dir, "missing-ca.pem"),
      });
      expect(collector).toEqual({
        code: 2,
        stderr: `pcapfleet-collector run: config: tls.ca: ${join(dir, "missing-ca.pem")} cannot read (ENOENT)\n`,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
