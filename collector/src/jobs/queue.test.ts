import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { migrate } from "../db/migrate.js";
import { dbBackends, type ScratchDb, silentLogger } from "../db/testing.js";
import { createJobStore, type JobStore } from "./job-store.js";
import { createQueue } from "./queue.js";

const SQL_DIR = join(import.meta.dirname, "..", "..", "..", "sql");
const WINDOW = { start_time: "2026-01-01T00:00:00Z", end_time: "2026-01-01T00:10:00Z" };

describe.each(dbBackends())("job queue on $name", (backend) => {
  let scratch: ScratchDb;
  let store: JobStore;

  beforeEach(async () => {
    scratch = await backend.create();
    await migrate(scratch.db, SQL_DIR, { log: silentLogger() });
    await scratch.db.query(`INSERT INTO locations (name) VALUES ('lab')`);
    for (const name of ["s1", "s2", "s3"]) {
      await scratch.db.query(
        `INSERT INTO sensors (name, location, agent_address, status) VALUES ($1, 'lab', '127.0.0.1:1', 'online')`,
        [name],
      );
    }
    store = createJobStore(scratch.db);
  });
  afterEach(() => scratch.drop());

  const newJob = (sensors: string[], extra: Record<string, unknown> = {}) =>
    store.create({
      owner: "alice",
      spec: { ...WINDOW, ...extra },
      effectiveFilter: "",
      maxBytes: 1000,
      targets: sensors.map((sensor) => ({ sensor, routedBy: "named in the job" })),
    });

  it("hands each task to one collector only, even when two claim at once", async () => {
    for (let i = 0; i < 6; i++) await newJob(["s1", "s2", "s3"]);
    const other = await scratch.openAnother();
    const q1 = createQueue({ db: scratch.db, owner: "c1", leaseMs: 30_000 });
    const q2 = createQueue({ db: other, owner: "c2", leaseMs: 30_000 });
    const claimed = await Promise.all([
      q1.claim(100, 100),
      q2.claim(100, 100),
      q1.claim(100, 100),
      q2.claim(100, 100),
    ]);
    const ids = claimed.flat().map((c) => c.task.id);
    expect(ids.length).toBe(18);
    expect(new Set(ids).size).toBe(18);
    const jobs = await store.list({ limit: 10 });
    expect(jobs.jobs.every((j) => j.status === "running")).toBe(true);
  });

  it("keeps at most perSensor tasks running per sensor", async () => {
    for (let i = 0; i < 4; i++) await newJob(["s1"]);
    const q = createQueue({ db: scratch.db, owner: "c1", leaseMs: 30_000 });
    expect((await q.claim(10, 2)).length).toBe(2);
    expect((await q.claim(10, 2)).length).toBe(0);
  });

  it("gives a task whose lease ran out to another collector, which resumes it", async () => {
    const id = await newJob(["s1"]);
    const dead = createQueue({ db: scratch.db, owner: "dead", leaseMs: 1 });
    const [task] = await dead.claim(1, 1);
    expect(task?.task.attempts).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const alive = createQueue({ db: scratch.db, owner: "alive", leaseMs: 30_000 });
    const [again] = await alive.claim(1, 1);
    expect(again?.task.id).toBe(task?.task.id);
    expect(again?.task.attempts).toBe(2);
    // The dead collector's late report is refused: it no longer holds the task.
    expect(await dead.end(task?.task.id ?? "", { kind: "failed", code: "timeout", message: "late" })).toBe(
      false,
    );
    expect((await store.get(id)).tasks[0]?.status).toBe("running");
  });

  it("retries after the backoff, and merges once every task has ended", async () => {
    const id = await newJob(["s1", "s2"]);
    const q = createQueue({ db: scratch.db, owner: "c1", leaseMs: 30_000 });
    const [a, b] = await q.claim(10, 10);
    expect(await q.claimMerges()).toEqual([]);
    await q.end(a?.task.id ?? "", {
      kind: "retry",
      code: "sensor_offline",
      message: "down",
      delayMs: 60_000,
    });
    expect(await q.claim(10, 10)).toEqual([]);
    expect((await q.nextDue())?.getTime()).toBeGreaterThan(Date.now() + 50_000);
    await q.end(b?.task.id ?? "", {
      kind: "delivered",
      status: "no_data",
      packets: 0,
      bytes: 0,
      sha256: null,
      truncated: false,
      errorCode: "no_data_in_range",
      message: "nothing",
      skipped: [],
    });
    await scratch.db.query(`UPDATE tasks SET not_before = now() WHERE id = $1`, [a?.task.id]);
    const [retry] = await q.claim(10, 10);
    expect(retry?.task.id).toBe(a?.task.id);
    await q.end(retry?.task.id ?? "", { kind: "failed", code: "sensor_offline", message: "still down" });
    const other = createQueue({ db: scratch.db, owner: "c2", leaseMs: 30_000 });
    const [first, second] = await Promise.all([q.claimMerges(), other.claimMerges()]);
    expect([...first, ...second]).toEqual([id]);
    const winner = first.length > 0 ? q : other;
    expect(await winner.finish(id, "failed", "no sensor delivered")).toBe(true);
    expect((await store.get(id)).status).toBe("failed");
  });

  it("does not start a scheduled job before its time", async () => {
    await newJob(["s1"], { scheduled_at: new Date(Date.now() + 3_600_000).toISOString() });
    const q = createQueue({ db: scratch.db, owner: "c1", leaseMs: 30_000 });
    expect(await q.claim(10, 10)).toEqual([]);
    expect(await q.claimMerges()).toEqual([]);
    expect((await q.nextDue())?.getTime()).toBeGreaterThan(Date.now() + 3_000_000);
  });

  it("cancels open tasks and refuses to cancel twice; the runner's lease renewal notices", async () => {
    const id = await newJob(["s1", "s2"]);
    const q = createQueue({ db: scratch.db, owner: "c1", leaseMs: 30_000 });
    const claimed = await q.claim(1, 10);
    expect(await store.cancel(id, "alice")).toBe(true);
    expect(await store.cancel(id, "alice")).toBe(false);
    const held = await q.renew(new Map(claimed.map((c) => [c.task.id, { received: 10, expected: 20 }])));
    expect(held.size).toBe(0);
    const job = await store.get(id);
    expect(job.status).toBe("cancelled");
    expect(job.tasks.map((t) => t.status)).toEqual(["cancelled", "cancelled"]);
  });

  it("gives back held tasks on a clean stop without counting the attempt", async () => {
    await newJob(["s1"]);
    const q = createQueue({ db: scratch.db, owner: "c1", leaseMs: 30_000 });
    await q.claim(1, 1);
    await q.releaseAll();
    const [again] = await createQueue({ db: scratch.db, owner: "c2", leaseMs: 30_000 }).claim(1, 1);
    expect(again?.task.attempts).toBe(1);
  });

  it("lists jobs newest first, a page at a time", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await newJob(["s1"]));
    const first = await store.list({ limit: 3 });
    expect(first.jobs.length).toBe(3);
    const second = await store.list({ limit: 3, before: first.next_before ?? undefined });
    expect(second.next_before).toBeNull();
    expect([...first.jobs, ...second.jobs].map((j) => j.id).sort()).toEqual([...ids].sort());
  });
});
