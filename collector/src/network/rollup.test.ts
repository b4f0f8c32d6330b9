import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Db } from "../db/index.js";
import { dbBackends, type ScratchDb, silentLogger } from "../db/testing.js";
import { networkConfigSchema } from "./config.js";
import { homeLateral } from "./lookup.js";
import { createNetworkMaintainer } from "./maintainer.js";
import { claimHours, rollUpHours } from "./rollup.js";
import { addSensor, migrateNetwork, type TrafficRow, writeTraffic } from "./testing.js";

// The maintenance run works in short steps (a location's hour at a time, an hour of flows, a
// day): its rollups must equal what one pass over the raw rows gives, the definition below, for
// a dataset spanning several locations and hours, after replays that move rows between
// locations, and after a run that failed midway.

const hourMs = 3_600_000;
/** A whole hour a few hours ago, so every hour is in the learner's window and none past retention. */
const H = Math.floor(Date.now() / hourMs) * hourMs - 4 * hourMs;
const minute = (hour: number, m: number) => new Date(H + hour * hourMs + m * 60_000);

const SITES = ["a", "b", "c", "d"] as const;

/** Hours with a mark, claimed or not. */
async function dirtyHours(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(DISTINCT hour_start)::int AS n FROM subnet_traffic_dirty",
  );
  return rows[0]?.n ?? -1;
}

/** Every sensor of every site, minutes of three hours: own /24s as sources, peers' as destinations. */
function dataset(): TrafficRow[] {
  const rows: TrafficRow[] = [];
  SITES.forEach((site, l) => {
    for (const sensor of [`${site}1`, `${site}2`]) {
      for (let hour = 0; hour < 3; hour++) {
        for (const m of [0, 7, 31, 59]) {
          for (let k = 0; k < 3; k++) {
            const bytes = 1000 * (l + 1) + 17 * m + 101 * k + hour;
            rows.push({
              sensor,
              location: site,
              minute: minute(hour, m),
              prefix: `10.${l + 1}.${k}.0/24`,
              direction: "src",
              bytes,
              packets: 5 + k,
            });
            const peer = (l + 1 + k) % SITES.length;
            rows.push({
              sensor,
              location: site,
              minute: minute(hour, m),
              prefix: `10.${peer + 1}.${k}.0/24`,
              direction: "dst",
              bytes: bytes + 3,
              packets: 2,
            });
          }
          // An Internet /24 every site talks to.
          rows.push({
            sensor,
            location: site,
            minute: minute(hour, m),
            prefix: "198.51.100.0/24",
            direction: m % 2 === 0 ? "src" : "dst",
            bytes: 300,
            packets: 3,
          });
        }
      }
    }
  });
  return rows;
}

/** Each rollup as one pass over the raw rows defines it (all locations at once). */
const expected = {
  subnet_traffic_hourly: `SELECT date_trunc('hour', minute_start, 'UTC') AS hour_start, location, direction, prefix,
      sum(bytes)::bigint AS bytes, sum(packets)::bigint AS packets, min(minute_start) AS first_minute, max(minute_start) AS last_minute
    FROM subnet_traffic GROUP BY 1, 2, 3, 4`,
  prefix_traffic_hourly: `SELECT date_trunc('hour', minute_start, 'UTC') AS hour_start, prefix,
      COALESCE(sum(bytes) FILTER (WHERE direction = 'src'), 0)::bigint AS bytes_sent,
      COALESCE(sum(packets) FILTER (WHERE direction = 'src'), 0)::bigint AS packets_sent,
      COALESCE(sum(bytes) FILTER (WHERE direction = 'dst'), 0)::bigint AS bytes_received,
      COALESCE(sum(packets) FILTER (WHERE direction = 'dst'), 0)::bigint AS packets_received,
      array_agg(DISTINCT location ORDER BY location) AS seen_at, min(minute_start) AS first_minute, max(minute_start) AS last_minute
    FROM subnet_traffic GROUP BY 1, 2`,
  prefix_traffic_daily: `SELECT date_trunc('day', minute_start, 'UTC') AS day_start, prefix,
      COALESCE(sum(bytes) FILTER (WHERE direction = 'src'), 0)::bigint AS bytes_sent,
      COALESCE(sum(packets) FILTER (WHERE direction = 'src'), 0)::bigint AS packets_sent,
      COALESCE(sum(bytes) FILTER (WHERE direction = 'dst'), 0)::bigint AS bytes_received,
      COALESCE(sum(packets) FILTER (WHERE direction = 'dst'), 0)::bigint AS packets_received,
      array_agg(DISTINCT location ORDER BY location) AS seen_at, min(minute_start) AS first_minute, max(minute_start) AS last_minute
    FROM subnet_traffic GROUP BY 1, 2`,
  location_traffic_hourly: `SELECT date_trunc('hour', minute_start, 'UTC') AS hour_start, location, direction,
      sum(bytes)::bigint AS bytes, sum(packets)::bigint AS packets FROM subnet_traffic GROUP BY 1, 2, 3`,
  location_traffic_minutely: `SELECT minute_start, location, direction, sum(bytes)::bigint AS bytes, sum(packets)::bigint AS packets
    FROM subnet_traffic GROUP BY 1, 2, 3`,
  location_flows_hourly: `SELECT date_trunc('hour', t.minute_start, 'UTC') AS hour_start, t.location AS from_location,
      h.location AS to_location, sum(t.bytes)::bigint AS bytes, sum(t.packets)::bigint AS packets
    FROM subnet_traffic t CROSS JOIN ${homeLateral("t.prefix")} h
   WHERE t.direction = 'dst' AND h.location <> t.location GROUP BY 1, 2, 3`,
} as const;

/** The rows of `sql` as sorted JSON lines, so two row sets compare whatever their order. */
async function rowSet(db: Db, sql: string): Promise<string[]> {
  const { rows } = await db.query<Record<string, unknown>>(`SELECT to_jsonb(x)::text AS j FROM (${sql}) x`);
  return rows.map((r) => String(r["j"])).sort();
}

/** Asserts every rollup table holds exactly its definition over the raw rows (and not empty). */
async function expectRollupsMatchRaw(db: Db): Promise<void> {
  for (const [table, definition] of Object.entries(expected)) {
    const actual = await rowSet(db, `SELECT * FROM ${table}`);
    expect(actual.length, table).toBeGreaterThan(0);
    expect(actual, table).toEqual(await rowSet(db, definition));
  }
}

/** A Db whose `failAt`-th transaction throws (a step failing midway through a run). */
function failingAt(db: Db, failAt: number): Db {
  let n = 0;
  return Object.assign(Object.create(db) as Db, {
    transaction: <R>(fn: Parameters<Db["transaction"]>[0]) => {
      n += 1;
      if (n === failAt) return Promise.reject(new Error("step failed"));
      return db.transaction(fn) as Promise<R>;
    },
  });
}

describe.each(dbBackends())("network rollups in short steps on $name", (backend) => {
  let scratch: ScratchDb;
  const make = (db: Db) =>
    createNetworkMaintainer({
      db,
      log: silentLogger(),
      rule: networkConfigSchema.parse({ minPackets: 10 }),
      intervalS: 60,
      retentionDays: 30,
      now: () => new Date(H + 3 * hourMs),
    });
  const learned = async () =>
    (
      await scratch.db.query<{ e: string }>(
        "SELECT prefix::text || ' ' || location || ' ' || source AS e FROM subnet_location_map ORDER BY 1",
      )
    ).rows.map((r) => r.e);

  beforeEach(async () => {
    scratch = await backend.create();
    await migrateNetwork(scratch.db);
    for (const site of SITES) {
      await addSensor(scratch.db, `${site}1`, site);
      await addSensor(scratch.db, `${site}2`, site);
    }
    // A manual entry: it wins over learning, and flows to its prefixes go to its location.
    await scratch.db.query("INSERT INTO subnet_location_map (prefix, location) VALUES ('10.4.2.0/24', 'a')");
  });
  afterEach(async () => {
    await scratch.drop();
  });

  it("gives the rollups and the map one pass over the raw rows gives, across locations and replays", async () => {
    await writeTraffic(scratch.db, dataset());
    const maintainer = make(scratch.db);
    expect(await maintainer.runOnce()).toMatchObject({ skipped: false, hours: 3 });
    await expectRollupsMatchRaw(scratch.db);
    // Each site's own /24s, except the one the manual entry holds; the Internet /24 nowhere.
    const home = SITES.flatMap((site, l) =>
      [0, 1, 2].map((k) => `10.${l + 1}.${k}.0/24 ${site} learned`),
    ).filter((e) => !e.startsWith("10.4.2.0/24"));
    expect(await learned()).toEqual([...home, "10.4.2.0/24 a manual"].sort());

    // Replays: b2 now reports at c for one hour (its rows leave b), d1's rows are replaced, and
    // a late row lands in an hour already rolled up.
    await writeTraffic(
      scratch.db,
      dataset()
        .filter((r) => r.sensor === "b2" && r.minute.getTime() < H + hourMs)
        .map((r) => ({ ...r, location: "c" })),
    );
    await writeTraffic(
      scratch.db,
      dataset()
        .filter((r) => r.sensor === "d1")
        .map((r) => ({ ...r, bytes: r.bytes * 2 })),
    );
    await writeTraffic(scratch.db, [
      {
        sensor: "a1",
        location: "a",
        minute: minute(1, 45),
        prefix: "10.3.9.0/24",
        direction: "dst",
        bytes: 77,
        packets: 1,
      },
    ]);
    expect(await maintainer.runOnce()).toMatchObject({ skipped: false, hours: 3 });
    await expectRollupsMatchRaw(scratch.db);
    expect((await maintainer.runOnce()).hours).toBe(0);
  });

  it("marks the hours again when a step fails midway, and the next run completes them", async () => {
    await writeTraffic(scratch.db, dataset());
    // The claim, an hour's locations, then its first location: the second location's step fails.
    await expect(make(failingAt(scratch.db, 4)).runOnce()).rejects.toThrow("step failed");
    const marked = await scratch.db.query<{ n: number }>(
      "SELECT count(DISTINCT hour_start)::int AS n FROM subnet_traffic_dirty",
    );
    expect(marked.rows).toEqual([{ n: 3 }]);
    expect(await make(scratch.db).runOnce()).toMatchObject({ skipped: false, hours: 3 });
    await expectRollupsMatchRaw(scratch.db);
  });

  it("takes over the hours of a collector that died mid-run once its claim's lease ran out", async () => {
    await writeTraffic(scratch.db, dataset());
    // A run claims the three hours, then its collector dies (kill -9: nothing released).
    const dead = await scratch.db.transaction((tx) => claimHours(tx, new Date(H - 86_400_000)));
    expect(dead.hours).toHaveLength(3);
    // While the lease holds, another run leaves those hours alone.
    expect(await make(scratch.db).runOnce()).toMatchObject({ skipped: false, hours: 0 });
    expect(await dirtyHours(scratch.db)).toBe(3);
    // The lease runs out: the next run recomputes them.
    await scratch.db.query("UPDATE subnet_traffic_dirty SET claimed_until = now() - interval '1 second'");
    expect(await make(scratch.db).runOnce()).toMatchObject({ skipped: false, hours: 3 });
    await expectRollupsMatchRaw(scratch.db);
    expect(await dirtyHours(scratch.db)).toBe(0);
  });

  it("keeps a mark written while its hour is being recomputed for the next run", async () => {
    await writeTraffic(scratch.db, dataset());
    const claimed = await scratch.db.transaction((tx) => claimHours(tx, new Date(H - 86_400_000)));
    // Ingest writes into a claimed hour after the claim: its mark is not the claim's.
    await writeTraffic(scratch.db, [
      {
        sensor: "a1",
        location: "a",
        minute: minute(2, 58),
        prefix: "10.9.9.0/24",
        direction: "src",
        bytes: 5,
        packets: 1,
      },
    ]);
    const report = await rollUpHours(scratch.db, (fn) => scratch.db.transaction(fn), claimed);
    expect(report.complete).toBe(true);
    expect(await dirtyHours(scratch.db)).toBe(1);
    expect(await make(scratch.db).runOnce()).toMatchObject({ skipped: false, hours: 1 });
    await expectRollupsMatchRaw(scratch.db);
  });
});
