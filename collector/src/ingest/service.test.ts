import { GrpcStatus } from "@pcapfleet/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../db/index.js";
import { dbBackends, type ScratchDb, silentLogger } from "../db/testing.js";
import type { Kv } from "../kv/index.js";
import { kvBackends, type ScratchKv } from "../kv/testing.js";
import { createOfflineSweeper } from "../sensors/sweeper.js";
import { eventually, migrateCore } from "../sensors/testing.js";
import {
  beat,
  encodeRequest,
  type IngestHarness,
  startIngest,
  type TestClock,
  testClock,
} from "./testing.js";

const combos = dbBackends().flatMap((db) =>
  kvBackends().map((kv) => ({ name: `${db.name} + ${kv.name}`, db, kv })),
);

async function count(db: Db, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*) AS n FROM (${sql}) q`, params);
  return rows[0]?.n ?? -1;
}

async function failure(promise: Promise<unknown>): Promise<{ code?: number; details?: string }> {
  const outcome = await promise.then(
    () => undefined,
    (reason: unknown) => reason as { code?: number; details?: string },
  );
  expect(outcome).toBeDefined();
  return outcome ?? {};
}

describe.each(combos)("SensorIngest on $name", ({ db: dbBackend, kv: kvBackend }) => {
  let scratch: ScratchDb;
  let scratchKv: ScratchKv;
  let db: Db;
  let kv: Kv;
  let clock: TestClock;
  let ingest: IngestHarness;

  beforeAll(async () => {
    scratch = await dbBackend.create();
    scratchKv = await kvBackend.create();
    db = scratch.db;
    kv = scratchKv.kv;
    await migrateCore(db);
    clock = testClock();
    ingest = await startIngest(db, kv, clock);
  });
  afterAll(async () => {
    await ingest?.close();
    await scratchKv?.drop();
    await scratch?.drop();
  });

  it("registers a sensor on its first heartbeat and updates it on later ones", async () => {
    const agent = ingest.open();
    expect(
      await agent.send(beat("reg-1", clock, { sequence: 1, location: "paris", devices: ["eth0", "eth1"] })),
    ).toBe(1n);
    const first = await db.query<Record<string, unknown>>("SELECT * FROM sensors WHERE name = 'reg-1'");
    expect(first.rows[0]).toMatchObject({
      location: "paris",
      version: "1.0.0",
      hostname: "reg-1.example",
      status: "online",
      status_reasons: [],
      last_sequence: 1,
      pcap_bytes: 5_000_000,
    });
    expect(first.rows[0]?.["last_status"]).toMatchObject({ stores: [{ state: "ok", path: "/var/pcap" }] });
    expect(await count(db, "SELECT 1 FROM locations WHERE name = 'paris'")).toBe(1);
    expect(await count(db, "SELECT 1 FROM devices WHERE sensor = 'reg-1'")).toBe(2);

    clock.ms += 10_000;
    expect(await agent.send(beat("reg-1", clock, { sequence: 2, location: "paris", version: "1.1.0" }))).toBe(
      2n,
    );
    agent.end();
    const later = await db.query<Record<string, unknown>>("SELECT * FROM sensors WHERE name = 'reg-1'");
    expect(later.rows[0]).toMatchObject({ version: "1.1.0", last_sequence: 2, heartbeat_interval_s: 10 });
    expect(later.rows[0]?.["first_seen_at"]).toEqual(first.rows[0]?.["first_seen_at"]);
    // eth1 is no longer reported, so it is gone from the host.
    const devices = await db.query<{ name: string }>("SELECT name FROM devices WHERE sensor = 'reg-1'");
    expect(devices.rows).toEqual([{ name: "eth0" }]);
    expect(await count(db, "SELECT 1 FROM sensor_health WHERE sensor = 'reg-1'")).toBe(2);
    const history = await db.query(
      "SELECT status, previous_status FROM sensor_status_history WHERE sensor = 'reg-1'",
    );
    expect(history.rows).toEqual([{ status: "online", previous_status: null }]);
  });

  it("replaces replayed traffic rows instead of adding them", async () => {
    const minute = Math.floor(clock.ms / 60_000) - 1;
    const traffic = [
      { minute, prefix: "10.1.0.0/16", dir: "src" as const, bytes: 100 },
      { minute, prefix: "10.1.0.0/16", dir: "dst" as const, bytes: 200 },
      { minute, prefix: "2001:db8::/32", dir: "src" as const, bytes: 300 },
      { minute, prefix: "not-a-prefix", dir: "src" as const, bytes: 1 },
    ];
    const agent = ingest.open();
    await agent.send(beat("traffic-1", clock, { sequence: 1, traffic }));
    // The agent resends unacked rows; here it resends everything, one row with a new count and
    // one spelled with host bits set.
    const replay = [...traffic, { minute, prefix: "10.1.2.3/16", dir: "src" as const, bytes: 150 }];
    await agent.send(beat("traffic-1", clock, { sequence: 2, traffic: replay }));
    agent.end();
    const { rows } = await db.query<{ prefix: string; direction: string; bytes: number; location: string }>(
      "SELECT prefix::text AS prefix, direction, bytes, location FROM subnet_traffic WHERE sensor = 'traffic-1' ORDER BY 1, 2",
    );
    expect(rows).toEqual([
      { prefix: "10.1.0.0/16", direction: "dst", bytes: 200, location: "dc1" },
      { prefix: "10.1.0.0/16", direction: "src", bytes: 150, location: "dc1" },
      { prefix: "2001:db8::/32", direction: "src", bytes: 300, location: "dc1" },
    ]);
    expect(ingest.service.stats().rejectedTrafficRows).toBeGreaterThanOrEqual(2);
  });

  it("records and publishes each status transition once, including offline by the sweeper", async () => {
    const seen: { sensor: string; status: string; previous_status: string | null }[] = [];
    const unsubscribe = await kv.subscribe("sensor-status", (message) => {
      const change = JSON.parse(message) as {
        sensor: string;
        status: string;
        previous_status: string | null;
      };
      if (change.sensor === "flap-1") seen.push(change);
    });
    const agent = ingest.open();
    const disks = [40, 40, 95, 96, 40];
    for (const [index, disk] of disks.entries()) {
      clock.ms += 10_000;
      await agent.send(beat("flap-1", clock, { sequence: index + 1, diskUsedPercent: disk }));
    }
    const sweeper = createOfflineSweeper({ db, kv, log: silentLogger(), now: clock.now });
    expect(await sweeper.runOnce()).not.toContain("flap-1");
    clock.ms += 31_000; // three 10 s intervals and a bit
    expect(await sweeper.runOnce()).toContain("flap-1");
    expect(await sweeper.runOnce()).toEqual([]);
    clock.ms += 1_000;
    await agent.send(beat("flap-1", clock, { sequence: 6 }));
    agent.end();

    const expected = [
      { status: "online", previous_status: null },
      { status: "degraded", previous_status: "online" },
      { status: "online", previous_status: "degraded" },
      { status: "offline", previous_status: "online" },
      { status: "online", previous_status: "offline" },
    ];
    const { rows } = await db.query<{ status: string; previous_status: string | null; reasons: string[] }>(
      "SELECT status, previous_status, reasons FROM sensor_status_history WHERE sensor = 'flap-1' ORDER BY changed_at",
    );
    expect(rows.map(({ status, previous_status }) => ({ status, previous_status }))).toEqual(expected);
    expect(rows[1]?.reasons[0]).toMatch(/^disk_full: \/var\/pcap 95% used/);
    expect(rows[3]?.reasons[0]).toMatch(/^no_heartbeat: no heartbeat since 2024-03-10T/);
    expect(await eventually(() => seen.length >= expected.length)).toBe(true);
    expect(seen.map(({ status, previous_status }) => ({ status, previous_status }))).toEqual(expected);
    await unsubscribe();
  });

  it("ends the stream with INVALID_ARGUMENT on a heartbeat without identity, storing nothing of it", async () => {
    const before = await count(db, "SELECT 1 FROM sensor_health");
    const agent = ingest.open();
    expect(await agent.send(beat("good-1", clock, { sequence: 1 }))).toBe(1n);
    agent.write({
      kind: { case: "heartbeat", value: { sequence: 2n, status: { health: { cpuPercent: 1 } } } },
    });
    const error = await failure(agent.ack());
    expect(error.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(error.details).toContain("identity is missing");
    for (const name of ["", "bad/name", "-dash"]) {
      const bad = ingest.open();
      const rejected = await failure(bad.send(beat(name, clock, { sequence: 1 })));
      expect(rejected.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    }
    expect(await count(db, "SELECT 1 FROM sensor_health")).toBe(before + 1);
    expect(await count(db, "SELECT 1 FROM sensors WHERE name IN ('', 'bad/name', '-dash')")).toBe(0);
  });

  it("ends the stream with INVALID_ARGUMENT on malformed bytes and keeps serving other streams", async () => {
    const before = await count(db, "SELECT 1 FROM sensor_health WHERE sensor = 'raw-1'");
    const raw = ingest.openRaw();
    const good = encodeRequest(beat("raw-1", clock, { sequence: 1 }));
    raw.write(good);
    expect(await raw.ack()).toBe(1n);
    // The same heartbeat cut short inside its status: not a message at all.
    raw.write(good.subarray(0, good.length - 5));
    const error = await failure(raw.ack());
    expect(error.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(error.details).toMatch(/malformed protobuf/);
    for (const bytes of [
      Buffer.from([0x0a, 0x05, 0x08]),
      Buffer.from([0xff, 0xff]),
      Buffer.from([0x0a, 0x02, 0x1a, 0x80]),
    ]) {
      const bad = ingest.openRaw();
      bad.write(bytes);
      const rejected = await failure(bad.ack());
      expect(rejected.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    }
    // The collector is still up: a new stream is heard and stored.
    const agent = ingest.open();
    clock.ms += 10_000;
    expect(await agent.send(beat("raw-1", clock, { sequence: 2 }))).toBe(2n);
    agent.end();
    expect(await count(db, "SELECT 1 FROM sensor_health WHERE sensor = 'raw-1'")).toBe(before + 2);
    expect(ingest.service.stats().rejected).toBeGreaterThanOrEqual(4);
  });

  it("pipelines many heartbeats on one stream and acks them in order", async () => {
    const agent = ingest.open();
    for (let sequence = 1; sequence <= 200; sequence += 1) agent.write(beat("burst-1", clock, { sequence }));
    const acks: bigint[] = [];
    for (let i = 0; i < 200; i += 1) acks.push(await agent.ack());
    agent.end();
    expect(acks).toEqual(Array.from({ length: 200 }, (_, i) => BigInt(i + 1)));
    expect(await count(db, "SELECT 1 FROM sensor_health WHERE sensor = 'burst-1'")).toBe(200);
    expect(ingest.service.stats().batches).toBeLessThan(ingest.service.stats().heartbeats);
  });

  it("serves many sensors at once", async () => {
    const agents = Array.from({ length: 40 }, (_, i) => ({ name: `many-${i}`, stream: ingest.open() }));
    await Promise.all(
      agents.map(async ({ name, stream }) => {
        for (let sequence = 1; sequence <= 3; sequence += 1)
          await stream.send(beat(name, clock, { sequence }));
        stream.end();
      }),
    );
    expect(await count(db, "SELECT 1 FROM sensors WHERE name LIKE 'many-%'")).toBe(40);
    expect(await count(db, "SELECT 1 FROM sensor_health WHERE sensor LIKE 'many-%'")).toBe(120);
  });

  it("removes gone devices even when another collector stored other devices in between", async () => {
    // The memo lets a collector skip the gone-devices delete when a sensor reports what it last
    // stored; a second collector writing the sensor meanwhile must void that.
    const other = await startIngest(await scratch.openAnother(), kv, clock);
    try {
      const agent = ingest.open();
      const moved = other.open();
      const names = async () =>
        (
          await db.query<{ name: string }>("SELECT name FROM devices WHERE sensor = 'memo-1' ORDER BY name")
        ).rows.map((row) => row.name);
      clock.ms += 1;
      await agent.send(beat("memo-1", clock, { sequence: 1, devices: ["eth0", "eth1"] }));
      clock.ms += 1;
      await agent.send(beat("memo-1", clock, { sequence: 2, devices: ["eth1", "eth0"] }));
      expect(await names()).toEqual(["eth0", "eth1"]);
      clock.ms += 1;
      await moved.send(beat("memo-1", clock, { sequence: 3, devices: ["wlan0"] }));
      expect(await names()).toEqual(["wlan0"]);
      clock.ms += 1;
      await agent.send(beat("memo-1", clock, { sequence: 4, devices: ["eth0", "eth1"] }));
      expect(await names()).toEqual(["eth0", "eth1"]);
      clock.ms += 1;
      await agent.send(beat("memo-1", clock, { sequence: 5, devices: ["eth0"] }));
      expect(await names()).toEqual(["eth0"]);
      agent.end();
      moved.end();
    } finally {
      await other.close();
    }
  });

  it("stores a heartbeat naming a location renamed since the collector last wrote it", async () => {
    const agent = ingest.open();
    await agent.send(beat("loc-1", clock, { sequence: 1, location: "old-site" }));
    // Renaming cascades to the sensors; the collector still believes "old-site" exists.
    await db.query("UPDATE locations SET name = 'new-site' WHERE name = 'old-site'");
    const failedBefore = ingest.service.stats().failed;
    expect(await agent.send(beat("loc-2", clock, { sequence: 1, location: "old-site" }))).toBe(1n);
    agent.end();
    expect(ingest.service.stats().failed).toBe(failedBefore);
    const { rows } = await db.query<{ name: string; location: string }>(
      "SELECT name, location FROM sensors WHERE name IN ('loc-1', 'loc-2') ORDER BY name",
    );
    expect(rows).toEqual([
      { name: "loc-1", location: "new-site" },
      { name: "loc-2", location: "old-site" },
    ]);
  });

  it("stops reading streams while maxQueued heartbeats wait, then acks them all in order", async () => {
    const narrow = await startIngest(db, kv, clock, undefined, { maxQueued: 1 });
    try {
      const agent = narrow.open();
      for (let sequence = 1; sequence <= 30; sequence += 1) agent.write(beat("queue-1", clock, { sequence }));
      const acks: bigint[] = [];
      for (let i = 0; i < 30; i += 1) acks.push(await agent.ack());
      agent.end();
      expect(acks).toEqual(Array.from({ length: 30 }, (_, i) => BigInt(i + 1)));
      // With room for one heartbeat, each was read only after the previous one was written.
      expect(narrow.service.stats()).toMatchObject({ heartbeats: 30, batches: 30 });
    } finally {
      await narrow.close();
    }
  });

  if (dbBackend.name === "postgres") {
    it("lets several collectors sweep at once, recording each sensor going offline once", async () => {
      const agent = ingest.open();
      for (const name of ["sweep-1", "sweep-2", "sweep-3"])
        await agent.send(beat(name, clock, { sequence: 1 }));
      agent.end();
      clock.ms += 60_000;
      const handles = await Promise.all([
        scratch.openAnother(),
        scratch.openAnother(),
        scratch.openAnother(),
      ]);
      const swept = await Promise.all(
        [db, ...handles].map((handle) =>
          createOfflineSweeper({ db: handle, kv, log: silentLogger(), now: clock.now }).runOnce(),
        ),
      );
      const names = swept.flat().filter((name) => name.startsWith("sweep-"));
      expect(names.sort()).toEqual(["sweep-1", "sweep-2", "sweep-3"]);
      expect(
        await count(
          db,
          "SELECT 1 FROM sensor_status_history WHERE sensor LIKE 'sweep-%' AND status = 'offline'",
        ),
      ).toBe(3);
    });
  }
});
