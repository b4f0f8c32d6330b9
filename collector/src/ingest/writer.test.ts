import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbBackends, type ScratchDb } from "../db/testing.js";
import type { Queryable } from "../db/types.js";
import { migrateCore } from "../sensors/testing.js";
import { defaultSensorThresholds } from "../sensors/thresholds.js";
import { decodeHeartbeatsRequest } from "./heartbeat-codec.js";
import { beat, encodeRequest, testClock } from "./testing.js";
import { type ReceivedHeartbeat, writeHeartbeats } from "./writer.js";
import { lockSensors } from "./writer-sql.js";

/** `n` heartbeats of distinct sensors, decoded as the service receives them. */
function heartbeats(n: number, prefix: string): ReceivedHeartbeat[] {
  const clock = testClock();
  return Array.from({ length: n }, (_, i) => {
    const decoded = decodeHeartbeatsRequest(
      encodeRequest(beat(`${prefix}-${i}`, clock, { sequence: 1, devices: ["eth0", "eth1"] })),
    );
    if (decoded.case !== "heartbeat") throw new Error("test heartbeat did not decode");
    return { record: decoded.record, receivedAtMs: clock.ms };
  });
}

describe.each(dbBackends())("ingest writer on $name", (backend) => {
  let scratch: ScratchDb;
  beforeAll(async () => {
    scratch = await backend.create();
    await migrateCore(scratch.db);
  });
  afterAll(() => scratch?.drop());

  it("gives the event loop turns while it builds a large batch's rows", async () => {
    const batch = heartbeats(1000, "slice");
    const events: string[] = [];
    const turns = { n: 0, running: true };
    await scratch.db.transaction(async (tx) => {
      // The real transaction, watched: when the row locks come back, immediates are queued;
      // one that runs before the write statement is sent means building yielded to the loop
      // (without slices, the build runs from the lock's answer to the write in one go).
      const watched: Queryable = {
        exec: (sql) => tx.exec(sql),
        async query<T>(sql: string, params?: readonly unknown[]) {
          if (sql !== lockSensors) events.push("write");
          const result = await tx.query<T>(sql, params);
          if (sql === lockSensors) {
            const tick = (): void => {
              if (!turns.running) return;
              turns.n += 1;
              if (turns.n === 1) events.push("turn");
              setImmediate(tick);
            };
            setImmediate(tick);
          }
          return result;
        },
      };
      await writeHeartbeats(watched, batch, defaultSensorThresholds);
      turns.running = false;
    });
    expect(events[0]).toBe("turn");
    expect(events).toContain("write");
    const { rows } = await scratch.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM sensors WHERE name LIKE 'slice-%'",
    );
    expect(rows[0]?.n).toBe(1000);
  });
});
