import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dbBackends, type ScratchDb, silentLogger } from "../db/testing.js";
import { networkConfigSchema } from "./config.js";
import { createNetworkMaintainer, type NetworkMaintainer, networkLockKey } from "./maintainer.js";
import { claimHours } from "./rollup.js";
import { addSensor, migrateNetwork, minutesOf, type TrafficRow, writeTraffic } from "./testing.js";

const hourMs = 3_600_000;
/** A recent whole hour, so nothing is past retention. */
const H = new Date(Math.floor(Date.now() / hourMs) * hourMs - 5 * hourMs);
const at = (hours: number, minutes = 0) => new Date(H.getTime() + hours * hourMs + minutes * 60_000);

const row = (
  sensor: string,
  location: string,
  prefix: string,
  direction: "src" | "dst",
  bytes: number,
  packets: number,
  minute = at(0),
): TrafficRow => ({ sensor, location, prefix, direction, bytes, packets, minute });

describe.each(dbBackends())("network maintainer on $name", (backend) => {
  let scratch: ScratchDb;
  let clock: Date;
  let changes: number;
  let maintainer: NetworkMaintainer;
  const make = (overrides: Record<string, unknown> = {}) =>
    createNetworkMaintainer({
      db: scratch.db,
      log: silentLogger(),
      rule: networkConfigSchema.parse({ minPackets: 10, ...overrides }),
      intervalS: 60,
      retentionDays: 30,
      onMapChange: async () => {
        changes += 1;
      },
      now: () => clock,
    });
  const q = async <T>(sql: string, params: unknown[] = []) => (await scratch.db.query<T>(sql, params)).rows;
  const learned = async () =>
    (
      await q<{ e: string }>(
        `SELECT prefix::text || ' ' || location || ' ' || source AS e FROM subnet_location_map ORDER BY prefix, location`,
      )
    ).map((r) => r.e);

  beforeEach(async () => {
    scratch = await backend.create();
    await migrateNetwork(scratch.db);
    for (const [sensor, location] of [
      ["s1", "a"],
      ["s2", "a"],
      ["s3", "b"],
      ["s4", "c"],
      ["s5", "dc"],
    ] as const) {
      await addSensor(scratch.db, sensor, location);
    }
    clock = at(2);
    changes = 0;
    maintainer = make();
  });
  afterEach(async () => {
    await maintainer.stop();
    await scratch.drop();
  });

  it("rolls the marked hours up by hour, day and minute, replacing replays and taking late rows", async () => {
    await writeTraffic(scratch.db, [
      ...minutesOf(
        { sensor: "s1", location: "a", prefix: "10.1.1.0/24", direction: "src", bytes: 100, packets: 2 },
        at(0),
        3,
      ),
      ...minutesOf(
        { sensor: "s2", location: "a", prefix: "10.1.1.0/24", direction: "src", bytes: 10, packets: 1 },
        at(0, 1),
        2,
      ),
      row("s3", "b", "10.1.1.0/24", "dst", 50, 1, at(1, 30)),
    ]);
    const first = await maintainer.runOnce();
    expect(first).toMatchObject({ skipped: false, hours: 2 });
    expect(await q("SELECT count(*)::int AS n FROM subnet_traffic_dirty")).toEqual([{ n: 0 }]);
    const hourly = () =>
      q<{
        hour: Date;
        location: string;
        direction: string;
        bytes: number;
        packets: number;
        first: Date;
        last: Date;
      }>(
        `SELECT hour_start AS hour, location, direction, bytes, packets, first_minute AS first, last_minute AS last
           FROM subnet_traffic_hourly ORDER BY hour_start, location`,
      );
    expect(await hourly()).toEqual([
      { hour: at(0), location: "a", direction: "src", bytes: 320, packets: 8, first: at(0), last: at(0, 2) },
      {
        hour: at(1),
        location: "b",
        direction: "dst",
        bytes: 50,
        packets: 1,
        first: at(1, 30),
        last: at(1, 30),
      },
    ]);
    expect(
      await q(
        "SELECT minute_start AS m, bytes FROM location_traffic_minutely WHERE location = 'a' ORDER BY 1",
      ),
    ).toEqual([
      { m: at(0), bytes: 100 },
      { m: at(0, 1), bytes: 110 },
      { m: at(0, 2), bytes: 110 },
    ]);
    const perPrefix = `SELECT prefix::text AS prefix, sum(bytes_sent)::bigint AS sent, sum(bytes_received)::bigint AS received,
                              (SELECT array_agg(DISTINCT l ORDER BY l) FROM % x, unnest(x.seen_at) AS l
                                WHERE x.prefix = t.prefix) AS seen
                         FROM % t GROUP BY prefix`;
    expect(await q(perPrefix.replaceAll("%", "prefix_traffic_hourly"))).toEqual([
      { prefix: "10.1.1.0/24", sent: 320, received: 50, seen: ["a", "b"] },
    ]);
    expect(await q(perPrefix.replaceAll("%", "prefix_traffic_daily"))).toEqual(
      await q(perPrefix.replaceAll("%", "prefix_traffic_hourly")),
    );
    expect(
      await q(
        "SELECT hour_start AS hour, location, direction, bytes FROM location_traffic_hourly ORDER BY 1, 2",
      ),
    ).toEqual([
      { hour: at(0), location: "a", direction: "src", bytes: 320 },
      { hour: at(1), location: "b", direction: "dst", bytes: 50 },
    ]);

    // A replay replaces its row (100 → 1000); a late row lands in an hour already rolled up; a
    // replay moving s3's row to another location takes it away from b.
    await writeTraffic(scratch.db, [
      row("s1", "a", "10.1.1.0/24", "src", 1000, 5, at(0)),
      row("s1", "a", "10.1.1.0/24", "src", 7, 1, at(0, 59)),
      row("s3", "c", "10.1.1.0/24", "dst", 50, 1, at(1, 30)),
    ]);
    expect((await maintainer.runOnce()).hours).toBe(2);
    expect(await hourly()).toEqual([
      {
        hour: at(0),
        location: "a",
        direction: "src",
        bytes: 1227,
        packets: 12,
        first: at(0),
        last: at(0, 59),
      },
      {
        hour: at(1),
        location: "c",
        direction: "dst",
        bytes: 50,
        packets: 1,
        first: at(1, 30),
        last: at(1, 30),
      },
    ]);
    expect(await q(perPrefix.replaceAll("%", "prefix_traffic_daily"))).toEqual([
      { prefix: "10.1.1.0/24", sent: 1227, received: 50, seen: ["a", "c"] },
    ]);
    expect((await maintainer.runOnce()).hours).toBe(0);
  });

  it("attributes flows with the map, again when the map changes, for the learner's window", async () => {
    await writeTraffic(scratch.db, [
      row("s3", "b", "10.7.1.0/24", "src", 9000, 100),
      row("s1", "a", "10.7.1.0/24", "dst", 500, 5),
      row("s1", "a", "10.7.1.0/24", "dst", 70, 1, at(-30)),
    ]);
    const flows = () =>
      q(
        "SELECT hour_start AS hour, from_location, to_location, bytes, packets FROM location_flows_hourly ORDER BY 1",
      );
    // Rolled up before anything was learned, then attributed again once 10.7.1.0/24 was learned
    // at b; the hour 30 h ago, outside the 24 h window, keeps what it had (nothing).
    await maintainer.runOnce();
    expect(await flows()).toEqual([
      { hour: at(0), from_location: "a", to_location: "b", bytes: 500, packets: 5 },
    ]);
    // A manual entry (written on any collector) moves the destination: the next run re-attributes.
    await scratch.db.query("INSERT INTO subnet_location_map (prefix, location) VALUES ('10.7.0.0/16', 'c')");
    expect((await maintainer.runOnce()).hours).toBe(0);
    expect(await flows()).toEqual([
      { hour: at(0), from_location: "a", to_location: "c", bytes: 500, packets: 5 },
    ]);
    // Descriptions and seen times are no move: nothing to redo.
    await scratch.db.query("UPDATE subnet_location_map SET description = 'x' WHERE prefix = '10.7.0.0/16'");
    const [state] = await q<{ manual_revision: number; flows_revision: number }>(
      "SELECT manual_revision, flows_revision FROM subnet_map_state",
    );
    expect(state?.manual_revision).toBe(state?.flows_revision);
  });

  it("leaves an hour done earlier in the run to the next run, so a run ends under steady ingest", async () => {
    await writeTraffic(scratch.db, [row("s1", "a", "10.1.1.0/24", "src", 100, 2, at(0))]);
    const cutoff = new Date(H.getTime() - 86_400_000);
    const chunk = await scratch.db.transaction((tx) => claimHours(tx, cutoff, [at(0).toISOString()]));
    expect(chunk.hours).toEqual([]);
    expect(await q("SELECT count(*)::int AS n FROM subnet_traffic_dirty")).toEqual([{ n: 1 }]);
    const next = await scratch.db.transaction((tx) => claimHours(tx, cutoff));
    expect(next.hours).toEqual([at(0).toISOString()]);
  });

  it("skips hours past retention and prunes rollups older than it", async () => {
    const old = new Date(H.getTime() - 40 * 86_400_000);
    await writeTraffic(scratch.db, [row("s1", "a", "10.1.1.0/24", "src", 100, 2, old)]);
    await scratch.db.query(
      `INSERT INTO subnet_traffic_hourly VALUES ($1, 'a', 'src', '10.1.1.0/24', 1, 1, $1, $1)`,
      [new Date(old.getTime() + hourMs)],
    );
    const report = await maintainer.runOnce();
    expect(report).toMatchObject({ hours: 0, pruned: 1 });
    expect(await q("SELECT count(*)::int AS n FROM subnet_traffic_hourly")).toEqual([{ n: 0 }]);
    expect(await q("SELECT count(*)::int AS n FROM subnet_traffic_dirty")).toEqual([{ n: 0 }]);
  });

  it("learns each prefix at the location that sources most of it, not at the sites it talks to", async () => {
    await scratch.db.query("INSERT INTO subnet_location_map (prefix, location) VALUES ('10.4.0.0/16', 'dc')");
    await writeTraffic(scratch.db, [
      // Home a: 75% of its source bytes; b sees the part sent to b.
      row("s1", "a", "10.1.1.0/24", "src", 9000, 100),
      row("s3", "b", "10.1.1.0/24", "src", 3000, 30),
      // An exact tie maps to both.
      row("s3", "b", "10.2.1.0/24", "src", 5000, 60),
      row("s1", "a", "10.2.1.0/24", "src", 5000, 60),
      // An Internet prefix seen evenly everywhere is learned nowhere.
      row("s1", "a", "192.0.2.0/24", "src", 100, 20),
      row("s3", "b", "192.0.2.0/24", "src", 100, 20),
      row("s4", "c", "192.0.2.0/24", "src", 100, 20),
      // Too few packets.
      row("s1", "a", "10.3.1.0/24", "src", 5000, 5),
      // IPv6.
      row("s2", "a", "fd00:1:0:1::/64", "src", 800, 40),
      // Destinations teach nothing.
      row("s4", "c", "10.5.1.0/24", "dst", 9000, 90),
      // Inside a manual entry: not learned; the manual entry gets seen times from dc's sensor.
      row("s1", "a", "10.4.1.0/24", "src", 9000, 90),
      row("s5", "dc", "10.4.2.0/24", "src", 10, 10, at(1, 5)),
    ]);
    const report = await maintainer.runOnce();
    expect(report.learned).toEqual({ added: 4, removed: 0, confirmed: 0 });
    expect(changes).toBe(1);
    expect(await learned()).toEqual([
      "10.1.1.0/24 a learned",
      "10.2.1.0/24 a learned",
      "10.2.1.0/24 b learned",
      "10.4.0.0/16 dc manual",
      "fd00:1:0:1::/64 a learned",
    ]);
    const [entry] = await q<Record<string, unknown>>(
      `SELECT learned_bytes, learned_packets, learned_share, first_seen_at, last_seen_at
         FROM subnet_location_map WHERE prefix = '10.1.1.0/24'`,
    );
    expect(entry).toEqual({
      learned_bytes: 9000,
      learned_packets: 100,
      learned_share: 0.75,
      first_seen_at: at(0),
      last_seen_at: at(0),
    });
    const [manual] = await q<Record<string, unknown>>(
      "SELECT first_seen_at, last_seen_at FROM subnet_location_map WHERE prefix = '10.4.0.0/16'",
    );
    expect(manual).toEqual({ first_seen_at: at(1, 5), last_seen_at: at(1, 5) });

    // Nothing new: entries are confirmed, the map is unchanged, caches are left alone.
    expect((await maintainer.runOnce()).learned).toEqual({ added: 0, removed: 0, confirmed: 4 });
    expect(changes).toBe(1);
  });

  it("moves a prefix whose traffic moved, keeps quiet ones, then forgets them", async () => {
    await writeTraffic(scratch.db, [
      row("s1", "a", "10.1.1.0/24", "src", 9000, 100),
      row("s3", "b", "10.7.1.0/24", "src", 9000, 100),
    ]);
    await maintainer.runOnce();
    expect(await learned()).toEqual(["10.1.1.0/24 a learned", "10.7.1.0/24 b learned"]);
    // A day and a half later the lookback (24 h) holds only c sourcing 10.1.1.0/24.
    clock = at(36);
    await writeTraffic(scratch.db, [row("s4", "c", "10.1.1.0/24", "src", 500, 50, at(35))]);
    expect((await maintainer.runOnce()).learned).toMatchObject({ added: 1, removed: 1 });
    expect(await learned()).toEqual(["10.1.1.0/24 c learned", "10.7.1.0/24 b learned"]);
    // Eight days after either was last seen (forgetAfterDays 7), both go.
    clock = new Date(at(35).getTime() + 8 * 86_400_000);
    expect((await maintainer.runOnce()).learned).toMatchObject({ removed: 2 });
    expect(await learned()).toEqual([]);
  });

  it("learns only inside `include`, and drops learned entries a later manual entry covers", async () => {
    maintainer = make({ include: ["10.1.0.0/16"] });
    await writeTraffic(scratch.db, [
      row("s1", "a", "10.1.1.0/24", "src", 9000, 100),
      row("s1", "a", "10.2.1.0/24", "src", 9000, 100),
    ]);
    await maintainer.runOnce();
    expect(await learned()).toEqual(["10.1.1.0/24 a learned"]);
    await scratch.db.query("INSERT INTO subnet_location_map (prefix, location) VALUES ('10.1.0.0/16', 'dc')");
    expect((await maintainer.runOnce()).learned).toMatchObject({ removed: 1 });
    expect(await learned()).toEqual(["10.1.0.0/16 dc manual"]);
  });

  if (backend.name === "postgres") {
    it("leaves the run to the collector holding the lock", async () => {
      await writeTraffic(scratch.db, [row("s1", "a", "10.1.1.0/24", "src", 9000, 100)]);
      const other = await scratch.openAnother();
      await other.withConnection(async (conn) => {
        await conn.query("SELECT pg_advisory_lock($1)", [networkLockKey]);
        expect(await maintainer.runOnce()).toMatchObject({ skipped: true, hours: 0 });
        await conn.query("SELECT pg_advisory_unlock($1)", [networkLockKey]);
      });
      expect(await maintainer.runOnce()).toMatchObject({ skipped: false, hours: 1 });
      expect(await learned()).toEqual(["10.1.1.0/24 a learned"]);
    });
  }
});
