/**
 * Test support for the sensor query and route suites: one small fleet, put in through the real
 * ingest service over gRPC, then the offline sweeper run once, and what both suites expect of it.
 *
 * The fleet, at {@link fleetStart} + 40 s: `a1` at paris, healthy, devices eth0 and eth1; `a2`
 * at paris, degraded (disk 97%); `b1` at berlin, offline (one heartbeat, then silence).
 */
import { silentLogger } from "../db/testing.js";
import type { Db } from "../db/types.js";
import { beat, type IngestHarness, startIngest, type TestClock } from "../ingest/testing.js";
import type { Kv } from "../kv/index.js";
import { createOfflineSweeper } from "./sweeper.js";

/** The clock's start: the first heartbeat (b1's). */
export const fleetStart = Date.parse("2024-03-10T12:00:00Z");

/**
 * Puts the fleet in through a real ingest server (closed again before this resolves), advancing
 * `clock` (which should start at {@link fleetStart}) by 40 s, then runs the offline sweeper once.
 * `db` must hold migration 001.
 */
export async function ingestTestFleet(db: Db, kv: Kv, clock: TestClock): Promise<void> {
  let ingest: IngestHarness | undefined;
  try {
    ingest = await startIngest(db, kv, clock);
    const agents = { a1: ingest.open(), a2: ingest.open(), b1: ingest.open() };
    await agents.b1.send(beat("b1", clock, { sequence: 1, location: "berlin" }));
    for (let sequence = 1; sequence <= 4; sequence += 1) {
      clock.ms += 10_000;
      await agents.a1.send(beat("a1", clock, { sequence, location: "paris", devices: ["eth0", "eth1"] }));
      await agents.a2.send(beat("a2", clock, { sequence, location: "paris", diskUsedPercent: 97 }));
    }
    for (const agent of Object.values(agents)) agent.end();
  } finally {
    await ingest?.close();
  }
  await createOfflineSweeper({ db, kv, log: silentLogger(), now: clock.now }).runOnce();
}

/** The fleet's locations as `listLocations` (and `GET /locations`) return them. */
export const fleetLocations = [
  {
    name: "berlin",
    description: "",
    latitude: null,
    longitude: null,
    sensor_count: 1,
    sensors_by_status: { online: 0, degraded: 0, offline: 1 },
  },
  {
    name: "paris",
    description: "",
    latitude: null,
    longitude: null,
    sensor_count: 2,
    sensors_by_status: { online: 1, degraded: 1, offline: 0 },
  },
] as const;
