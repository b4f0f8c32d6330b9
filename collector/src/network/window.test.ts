import { AppError } from "@pcapfleet/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbBackends, type ScratchDb, silentLogger } from "../db/testing.js";
import { networkConfigSchema } from "./config.js";
import { createNetworkMaintainer } from "./maintainer.js";
import { addSensor, migrateNetwork, type TrafficRow, writeTraffic } from "./testing.js";
import {
  bucketWindow,
  flowCtes,
  locationRows,
  prefixRows,
  SqlParams,
  totalsWindow,
  type Window,
} from "./window.js";

const dayMs = 86_400_000;
const start = new Date(Math.floor(Date.now() / dayMs) * dayMs - 3 * dayMs);
const minute = (n: number) => new Date(start.getTime() + n * 60_000);

/** A small deterministic generator (mulberry32), so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe("windows", () => {
  const now = new Date("2026-03-10T12:34:56Z");
  it("widens to bucket edges and bounds the length per bucket", () => {
    const w = bucketWindow({ from: "2026-03-10T01:10:00Z", to: "2026-03-10T03:00:01Z" }, "hour", now);
    expect([w.from.toISOString(), w.to.toISOString()]).toEqual([
      "2026-03-10T01:00:00.000Z",
      "2026-03-10T04:00:00.000Z",
    ]);
    expect(bucketWindow({}, "minute", now).from.toISOString()).toBe("2026-03-10T11:34:00.000Z");
    expect(totalsWindow({}, now).to.toISOString()).toBe("2026-03-10T13:00:00.000Z");
    expect(() => bucketWindow({ from: "2026-03-10T00:00:00Z" }, "minute", now)).toThrow(/at most 6 hours/);
    expect(() => bucketWindow({ from: "2026-01-01T00:00:00Z" }, "hour", now)).toThrow(AppError);
    expect(() => totalsWindow({ from: "2026-03-11T00:00:00Z" }, now)).toThrow(/from must be before to/);
  });
});

describe.each(dbBackends())("rollup windows on $name", (backend) => {
  let scratch: ScratchDb;
  beforeAll(async () => {
    scratch = await backend.create();
    await migrateNetwork(scratch.db);
    await addSensor(scratch.db, "s1", "a");
    await addSensor(scratch.db, "s2", "b");
    const random = prng(7);
    const rows = new Map<string, TrafficRow>();
    // Three days of scattered minutes, both sensors, a few prefixes, both directions.
    for (let i = 0; i < 400; i++) {
      const sensor = random() < 0.5 ? "s1" : "s2";
      const row: TrafficRow = {
        sensor,
        location: sensor === "s1" ? "a" : "b",
        minute: minute(Math.floor(random() * 3 * 1440)),
        prefix: `10.${1 + Math.floor(random() * 3)}.0.0/24`,
        direction: random() < 0.5 ? "src" : "dst",
        bytes: 1 + Math.floor(random() * 10_000),
        packets: 1 + Math.floor(random() * 100),
      };
      rows.set(`${row.sensor} ${row.minute.getTime()} ${row.prefix} ${row.direction}`, row);
    }
    await writeTraffic(scratch.db, [...rows.values()]);
    // 10.1.0.0/24 lives at a, 10.2.0.0/24 at b, 10.3.0.0/24 nowhere (for the flows).
    await scratch.db.query(
      "INSERT INTO subnet_location_map (prefix, location) VALUES ('10.1.0.0/24', 'a'), ('10.2.0.0/24', 'b')",
    );
    await createNetworkMaintainer({
      db: scratch.db,
      log: silentLogger(),
      // Nothing of the generated traffic is learned: the map is the two entries above.
      rule: networkConfigSchema.parse({ include: ["192.0.2.0/24"] }),
      intervalS: 60,
      retentionDays: 30,
    }).runOnce();
  });
  afterAll(() => scratch.drop());

  const rawRows = async (w: Window) =>
    (
      await scratch.db.query<{
        location: string;
        direction: string;
        prefix: string;
        bytes: number;
        packets: number;
      }>(
        `SELECT location, direction, prefix::text AS prefix, bytes, packets FROM subnet_traffic
          WHERE minute_start >= $1 AND minute_start < $2`,
        [w.from.toISOString(), w.to.toISOString()],
      )
    ).rows;
  /** Sums of `rows` by the key `key` gives, sorted by key. */
  const sums = <T extends { bytes: number; packets: number }>(
    rows: readonly T[],
    key: (row: T) => string | null,
  ) => {
    const out = new Map<string, { bytes: number; packets: number }>();
    for (const row of rows) {
      const k = key(row);
      if (k === null) continue;
      const sum = out.get(k) ?? { bytes: 0, packets: 0 };
      sum.bytes += row.bytes;
      sum.packets += row.packets;
      out.set(k, sum);
    }
    return [...out].sort(([a], [b]) => a.localeCompare(b));
  };
  const query = async <T extends { bytes: number; packets: number }>(
    build: (params: SqlParams) => string,
    key: (row: T) => string | null,
  ) => {
    const params = new SqlParams();
    return sums((await scratch.db.query<T>(build(params), params.values)).rows, key);
  };
  const home: Record<string, string> = { "10.1.0.0/24": "a", "10.2.0.0/24": "b" };

  const windows = (() => {
    const random = prng(11);
    const out: Window[] = [
      { from: minute(0), to: minute(3 * 1440) },
      { from: minute(1440), to: minute(2 * 1440) },
      { from: minute(60), to: minute(120) },
      { from: minute(17), to: minute(43) },
    ];
    for (let i = 0; i < 16; i++) {
      const a = Math.floor(random() * 3 * 1440);
      const b = a + 1 + Math.floor(random() * (3 * 1440 - a));
      out.push({ from: minute(a), to: minute(b) });
    }
    return out;
  })();
  const label = (w: Window) => `${w.from.toISOString()} – ${w.to.toISOString()}`;

  it("per location: adds up to the raw rows for any window of minutes, hours and days", async () => {
    for (const w of windows) {
      const expected = sums(await rawRows(w), (r) => `${r.location} ${r.direction}`);
      const got = await query<{ location: string; direction: string; bytes: number; packets: number }>(
        (params) => `SELECT * FROM (${locationRows(w, params)}) r`,
        (r) => `${r.location} ${r.direction}`,
      );
      expect(got, label(w)).toEqual(expected);
    }
  });

  it("per prefix: adds up to the raw rows for any window of whole hours", async () => {
    for (const w of windows.map((x) =>
      totalsWindow({ from: x.from.toISOString(), to: x.to.toISOString() }, x.to),
    )) {
      const raw = await rawRows(w);
      type Row = { prefix: string; bytes: number; packets: number };
      const got = async (bytes: string, packets: string) =>
        query<Row>(
          (params) => `SELECT prefix::text AS prefix, ${bytes} AS bytes, ${packets} AS packets
                         FROM (${prefixRows(w, params)}) r`,
          (r) => (r.packets > 0 ? r.prefix : null),
        );
      const side = (direction: string) => sums(raw, (r) => (r.direction === direction ? r.prefix : null));
      expect(await got("bytes_sent", "packets_sent"), label(w)).toEqual(side("src"));
      expect(await got("bytes_received", "packets_received"), label(w)).toEqual(side("dst"));
    }
  });

  it("flows: add up to the raw destination rows placed by the map, for any window", async () => {
    for (const w of windows) {
      const expected = sums(await rawRows(w), (r) => {
        const to = home[r.prefix];
        return r.direction === "dst" && to !== undefined && to !== r.location ? `${r.location} ${to}` : null;
      });
      const got = await query<{ from_location: string; to_location: string; bytes: number; packets: number }>(
        (params) => `WITH ${flowCtes(w, params)} SELECT * FROM flows`,
        (r) => `${r.from_location} ${r.to_location}`,
      );
      expect(got, label(w)).toEqual(expected);
    }
  });
});
