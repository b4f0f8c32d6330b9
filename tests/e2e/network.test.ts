/**
 * The network map end to end, as real processes: `pcapfleet-collector run` (embedded PGlite; and
 * a scratch Postgres with Redis when DATABASE_URL/REDIS_URL are set) and two `pcapfleet-agent run`
 * on generated rings of two sites. The agents' subnet summaries become learned map entries (each
 * site's own /24s and /64s, nothing else); lookups, traffic and jobs routed by the map follow;
 * a manual entry overrides a learned one; with Postgres and Redis, a second collector's lookup
 * cache is dropped by a clear on the first.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetwork } from "@pcapfleet/pcap";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePrefix } from "../../collector/src/network/cidr.js";
import { type AgentProcess, startAgentProcess } from "../agent/agent-process.js";
import { writeRing } from "../agent/ring.js";
import { ensureBuilt } from "../slice/agent-bin.js";
import { processBackends, type ScratchDb } from "../support/backends.js";
import { type CollectorProcess, startCollectorProcess } from "../support/collector-process.js";
import { restCall } from "../support/rest.js";
import { freePort, until } from "../support/wait.js";

const PASSWORD = "network-admin-password";
const START_SEC = Math.floor(Date.now() / 1000) - 300;
const iso = (sec: number): string => new Date(sec * 1000).toISOString();
const SITES = [
  { sensor: "sensor-a", location: "site-a", seed: 31 },
  { sensor: "sensor-b", location: "site-b", seed: 32 },
] as const;
/** The internal subnets of a site's generated traffic (`10.<site>.S.0/24`, `fd00:<site>:0:S::/64`), canonical. */
const subnetsOf = (seed: number): string[] =>
  createNetwork({ seed, hosts: 40, subnets: 4 })
    .subnets.flatMap((s) => [s.ipv4Cidr, s.ipv6Cidr])
    .map((cidr) => parsePrefix(cidr).text)
    .sort();

interface Match {
  prefix: string;
  location: string;
  source: string;
}

const backends = processBackends();

describe.each(backends)(
  "network map across real processes on $name",
  { timeout: 90_000 },
  ({ backend, redisUrl }) => {
    let work: string;
    let scratch: ScratchDb | undefined;
    let collector: CollectorProcess;
    let collectorOptions: Parameters<typeof startCollectorProcess>[0];
    const agents: AgentProcess[] = [];
    const tokens = new Map<string, string>();

    const api = async (path: string, init: RequestInit = {}, base = collector.httpUrl) => {
      let token = tokens.get(base);
      if (token === undefined) {
        const login = await fetch(`${base}/api/v1/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: "admin", password: PASSWORD }),
        });
        token = ((await login.json()) as { access_token: string }).access_token;
        tokens.set(base, token);
      }
      return restCall(base, token, path, init);
    };
    const lookup = async (address: string, base?: string): Promise<Match[]> => {
      const { body } = await api(`/network/lookup?address=${encodeURIComponent(address)}`, {}, base);
      return ((body["results"] as { matches: Match[] }[])[0]?.matches ?? []).map(
        ({ prefix, location, source }) => ({
          prefix,
          location,
          source,
        }),
      );
    };
    const learnedAt = async (location: string): Promise<string[]> => {
      const { body } = await api("/network/locations");
      const site = (body["locations"] as { name: string; subnets: Match[] }[]).find(
        (l) => l.name === location,
      );
      return (site?.subnets ?? [])
        .filter((s) => s.source === "learned")
        .map((s) => s.prefix)
        .sort();
    };
    const routedBy = async (ip: string): Promise<string[]> => {
      const { status, body } = await api("/jobs", {
        method: "POST",
        body: JSON.stringify({ start_time: iso(START_SEC), end_time: iso(START_SEC + 2), src_ip: ip }),
      });
      expect(status, JSON.stringify(body)).toBe(201);
      const tasks = body["tasks"] as { sensor: string; routed_by: string }[];
      return tasks.map((t) => `${t.sensor}: ${t.routed_by}`).sort();
    };

    beforeAll(async () => {
      await ensureBuilt();
      work = await mkdtemp(join(tmpdir(), "pf-network-"));
      if (backend.name === "postgres") scratch = await backend.create();
      collectorOptions = {
        dataDir: join(work, "data"),
        adminPassword: PASSWORD,
        databaseUrl: scratch?.url,
        redisUrl,
        env: { PCAPFLEET_GRPC_LISTEN: `127.0.0.1:${await freePort()}` },
        config: {
          sensorStatus: { defaultHeartbeatIntervalSeconds: 0.5 },
          // Learn only the private ranges: the example servers every site talks to stay unmapped.
          network: { intervalS: 0.5, minPackets: 1, include: ["10.0.0.0/8", "fd00::/8"] },
        },
      };
      collector = await startCollectorProcess(collectorOptions);
      for (const site of SITES) {
        await writeRing(join(work, site.location), {
          files: 2,
          fileBytes: 2 * 1024 * 1024,
          traffic: { start: { sec: START_SEC, nsec: 0 }, ratePps: 2000, seed: site.seed },
        });
        agents.push(
          await startAgentProcess(work, {
            sensor: site.sensor,
            location: site.location,
            stores: [join(work, site.location)],
            stateDir: join(work, `state-${site.sensor}`),
            collector: collector.grpcAddress,
            heartbeatS: 0.5,
            quietMs: 200,
          }),
        );
      }
    }, 180_000);

    afterAll(async () => {
      for (const agent of agents) await agent.stop();
      await collector?.stop();
      await scratch?.drop();
      if (work !== undefined) await rm(work, { recursive: true, force: true });
    });

    it("learns each site's own subnets from its agent's summaries, IPv4 and IPv6", async () => {
      for (const site of SITES) {
        const expected = subnetsOf(site.seed);
        const learned = await until(`${site.location}'s subnets learned`, async () => {
          const got = await learnedAt(site.location);
          return got.length === expected.length ? got : undefined;
        });
        expect(learned).toEqual(expected);
      }
      expect(await lookup("10.32.1.100")).toEqual([
        { prefix: "10.32.1.0/24", location: "site-a", source: "learned" },
      ]);
      expect(await lookup("fd00:21:0:2::77")).toEqual([
        { prefix: "fd00:21:0:2::/64", location: "site-b", source: "learned" },
      ]);
      // The example servers both sites talk to are outside `include`: unmapped.
      expect(await lookup("192.0.2.10")).toEqual([]);
    });

    it("answers traffic per site from the summaries", async () => {
      const window = `from=${iso(START_SEC - 120)}&to=${iso(START_SEC + 600)}`;
      const { status, body } = await api(`/network/traffic?${window}&bucket=minute`);
      expect(status, JSON.stringify(body)).toBe(200);
      const totals = body["locations"] as { location: string; bytes: number; packets: number }[];
      expect(totals.map((t) => t.location).sort()).toEqual(["site-a", "site-b"]);
      for (const t of totals) expect(t.packets).toBeGreaterThan(1000);
      const subnets = await api(`/network/subnets?${window}&location=site-a`);
      const rows = subnets.body["subnets"] as { prefix: string; seen_at: string[]; bytes_sent: number }[];
      expect(rows.map((r) => r.prefix).sort()).toEqual(subnetsOf(31));
      for (const row of rows) expect(row.seen_at).toEqual(["site-a"]);
    });

    it("routes jobs by the learned map, and by a manual entry that overrides it", async () => {
      expect(await routedBy("10.33.2.5")).toEqual([
        "sensor-b: subnet map: 10.33.2.5 is in 10.33.2.0/24 (learned), seen at location site-b",
      ]);
      const manual = await api("/network/subnets", {
        method: "POST",
        body: JSON.stringify({ prefix: "10.33.0.0/16", location: "site-a", description: "moved" }),
      });
      expect(manual.status, JSON.stringify(manual.body)).toBe(201);
      expect(await lookup("10.33.2.5")).toEqual([
        { prefix: "10.33.0.0/16", location: "site-a", source: "manual" },
      ]);
      expect(await routedBy("10.33.2.5")).toEqual([
        "sensor-a: subnet map: 10.33.2.5 is in 10.33.0.0/16 (manual), seen at location site-a",
      ]);
      const removed = await api("/network/subnets?prefix=10.33.0.0/16", { method: "DELETE" });
      expect(removed.body).toEqual({ removed: 1 });
      // The learner learns site-b's subnets again on its next runs.
      await until("10.33.2.0/24 learned again", async () =>
        (await lookup("10.33.2.5"))[0]?.location === "site-b" ? true : undefined,
      );
      expect(await routedBy("172.16.9.9")).toEqual([
        "sensor-a: all sensors: the subnet map knows none of the job's addresses",
        "sensor-b: all sensors: the subnet map knows none of the job's addresses",
      ]);
    });

    if (backend.name === "postgres" && redisUrl !== undefined) {
      it("drops a second collector's lookup cache when the first is told to clear", async () => {
        const db = scratch?.db;
        if (db === undefined) throw new Error("needs the scratch Postgres database");
        const second = await startCollectorProcess({
          ...collectorOptions,
          dataDir: join(work, "data-2"),
          env: { PCAPFLEET_GRPC_LISTEN: `127.0.0.1:${await freePort()}` },
        });
        try {
          expect(await lookup("10.33.3.9", second.httpUrl)).toEqual([
            { prefix: "10.33.3.0/24", location: "site-b", source: "learned" },
          ]);
          // Written behind the API's back: the second collector keeps answering from its cache.
          await db.query(
            "INSERT INTO subnet_location_map (prefix, location, source) VALUES ('10.33.3.0/25', 'site-a', 'manual')",
          );
          expect((await lookup("10.33.3.9", second.httpUrl))[0]?.location).toBe("site-b");
          const cleared = await api("/network/locations/clear-cache", { method: "POST" });
          expect(cleared.body).toEqual({ cleared: true });
          await until("the second collector's cache cleared", async () =>
            (await lookup("10.33.3.9", second.httpUrl))[0]?.location === "site-a" ? true : undefined,
          );
        } finally {
          await second.stop();
        }
      });
    }
  },
);
