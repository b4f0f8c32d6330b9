import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { migrate } from "../../db/migrate.js";
import { dbBackends, type ScratchDb, silentLogger } from "../../db/testing.js";
import { kvBackends, type ScratchKv } from "../../kv/testing.js";
import { JOB_PROGRESS_CHANNEL } from "../../realtime/events.js";
import { createJobStore, type JobStore } from "../job-store.js";
import { watchJob } from "./watch.js";

const SQL_DIR = join(import.meta.dirname, "..", "..", "..", "..", "sql");
const [pglite] = dbBackends();

describe.each(kvBackends())("watchJob with the $name kv", (kvBackend) => {
  let scratch: ScratchDb;
  let kv: ScratchKv;
  let store: JobStore;
  let id: string;

  // One migrated database for the suite (PGlite start-up is the slow part); a job per test.
  beforeAll(async () => {
    if (pglite === undefined) throw new Error("no database backend");
    scratch = await pglite.create();
    await migrate(scratch.db, SQL_DIR, { log: silentLogger() });
    await scratch.db.query(`INSERT INTO locations (name) VALUES ('lab')`);
    await scratch.db.query(
      `INSERT INTO sensors (name, location, agent_address) VALUES ('s1', 'lab', '127.0.0.1:1')`,
    );
    store = createJobStore(scratch.db);
  });
  afterAll(() => scratch.drop());

  beforeEach(async () => {
    kv = await kvBackend.create();
    id = await store.create({
      owner: "alice",
      spec: { start_time: "2026-01-01T00:00:00Z", end_time: "2026-01-01T00:10:00Z" },
      effectiveFilter: "",
      maxBytes: 1000,
      targets: [{ sensor: "s1", routedBy: "named in the job" }],
    });
  });
  afterEach(() => kv.drop());

  const publish = (event: Record<string, unknown>) =>
    kv.kv.publish(JOB_PROGRESS_CHANNEL, JSON.stringify(event));

  it("sends the job, then one snapshot for a burst of events, and ends after a terminal status", async () => {
    const watch = watchJob({ kv: kv.kv, store }, id, new AbortController().signal, {
      minIntervalMs: 300,
      pollMs: 60_000,
    });
    expect((await watch.next()).value).toMatchObject({ id, status: "queued" });
    for (let i = 0; i < 20; i++) await publish({ job_id: id, task_id: "t", status: "running", received: i });
    await store.cancel(id, "bob");
    await publish({ job_id: id, status: "cancelled" });
    const next = await watch.next();
    expect(next.value).toMatchObject({ status: "cancelled", tasks: [{ status: "cancelled" }] });
    expect(await watch.next()).toEqual({ done: true, value: undefined });
  });

  it("re-reads the job when an event is lost", async () => {
    const watch = watchJob({ kv: kv.kv, store }, id, new AbortController().signal, { pollMs: 100 });
    expect((await watch.next()).value?.status).toBe("queued");
    await store.cancel(id, "bob"); // and nothing published
    expect((await watch.next()).value?.status).toBe("cancelled");
  });

  it("ends when the caller goes away, whatever other jobs do", async () => {
    const controller = new AbortController();
    const watch = watchJob({ kv: kv.kv, store }, id, controller.signal, { pollMs: 60_000 });
    expect((await watch.next()).value?.status).toBe("queued");
    const pending = watch.next();
    await publish({ job_id: "another", status: "running" });
    controller.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  it("is not_found for an unknown or malformed job id, before sending anything", async () => {
    for (const bad of ["5d5e0b55-0000-4000-8000-000000000000", "nope"]) {
      const watch = watchJob({ kv: kv.kv, store }, bad, new AbortController().signal);
      await expect(watch.next()).rejects.toMatchObject({ code: "not_found" });
    }
  });
});
