import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { createLogger, type Logger } from "@pcapfleet/core";
import type { DbBackend } from "../db/testing.js";
import { createApp } from "../http/app.js";
import { createHarness, type Harness } from "../http/testing.js";
import type { AppEnv } from "../http/types.js";
import { type TestClock, testClock } from "../ingest/testing.js";
import type { KvBackend } from "../kv/testing.js";
import { createLogRing, type LogRing } from "../logs/log-ring.js";
import { fleetStart, ingestTestFleet } from "../sensors/fleet-testing.js";
import { migrateCore } from "../sensors/testing.js";
import { roles } from "../users/types.js";
import { createCollectorRoutes } from "./index.js";

/**
 * Test support for the route suites: the HTTP harness's database (users) plus migration 001,
 * the sensor suites' small fleet (`ingestTestFleet`: a1 and a2 at paris, b1 at berlin offline),
 * and an app with this folder's modules whose logger writes to a real log ring.
 */

export { fleetLocations, fleetStart } from "../sensors/fleet-testing.js";

/** The version the modules report. */
export const testVersion = "9.9.9-test";

/** A harness with a fleet and the route modules. */
export interface FleetHarness {
  readonly h: Harness;
  readonly clock: TestClock;
  readonly app: OpenAPIHono<AppEnv>;
  /** The ring the app's logger writes to. */
  readonly ring: LogRing;
  /** The app's logger (writes to {@link ring}). */
  readonly log: Logger;
  readonly dataDir: string;
  readonly startedAt: Date;
  /** GET `path` as a user of `role` (a fresh session), or with no token. */
  get(path: string, role?: (typeof roles)[number]): Promise<Response>;
  close(): Promise<void>;
}

/** Builds a {@link FleetHarness} on one database and one key-value backend. */
export async function createFleetHarness(db: DbBackend, kv: KvBackend): Promise<FleetHarness> {
  const h = await createHarness(db, kv);
  const dataDir = await mkdtemp(join(tmpdir(), "pcapfleet-routes-"));
  try {
    await migrateCore(h.scratch.db);
    for (const role of roles) await h.addUser(`${role}-user`, role);
    const clock = testClock(fleetStart);
    await ingestTestFleet(h.scratch.db, h.kvScratch.kv, clock);
    const ring = createLogRing(500);
    const log = createLogger({ name: "collector", level: "debug", destination: ring });
    const startedAt = new Date(Date.now() - 5_000);
    const app = createApp({
      log,
      db: h.scratch.db,
      auth: h.auth,
      modules: createCollectorRoutes({
        db: h.scratch.db,
        kv: h.kvScratch.kv,
        logs: ring,
        dataDir,
        version: testVersion,
        startedAt,
      }),
    });
    return {
      h,
      clock,
      app,
      ring,
      log,
      dataDir,
      startedAt,
      async get(path, role) {
        const headers: Record<string, string> = {};
        if (role !== undefined) {
          headers["authorization"] = `Bearer ${(await h.tokens(`${role}-user`)).access_token}`;
        }
        return app.request(path, { headers });
      },
      async close() {
        await h.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await h.close();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}
