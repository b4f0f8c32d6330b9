import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { migrate } from "../db/migrate.js";
import { dbBackends, type ScratchDb, silentLogger } from "../db/testing.js";
import { createJobStore } from "./job-store.js";
import { resultFile } from "./result-paths.js";
import { applyRetention } from "./retention.js";

const SQL_DIR = join(import.meta.dirname, "..", "..", "..", "sql");

describe.each(dbBackends())("result retention on $name", (backend) => {
  let scratch: ScratchDb;
  let dataDir: string;

  beforeEach(async () => {
    scratch = await backend.create();
    await migrate(scratch.db, SQL_DIR, { log: silentLogger() });
    dataDir = await mkdtemp(join(tmpdir(), "pf-retention-"));
  });
  afterEach(async () => {
    await scratch.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** A finished job with a result of `bytes`, created `ageDays` ago, its files on disk. */
  const result = async (bytes: number, ageDays: number): Promise<string> => {
    const id = await createJobStore(scratch.db).create({
      owner: "alice",
      spec: { start_time: "2026-01-01T00:00:00Z", end_time: "2026-01-01T00:01:00Z" },
      effectiveFilter: "",
      maxBytes: 1e9,
      targets: [],
    });
    const path = resultFile(dataDir, id, "pcap");
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(path, Buffer.alloc(16));
    await scratch.db.query(
      `INSERT INTO job_results (job_id, path, format, packets, bytes, sha256, created_at, analysis)
       VALUES ($1, $2, 'pcap', 1, $3, 'ab', now() - $4::double precision * interval '1 day', '{"packets": 1}')`,
      [id, path, bytes, ageDays],
    );
    return id;
  };

  it("deletes results past their age and the oldest over the size cap, keeping the metadata", async () => {
    const old = await result(100, 40);
    const big1 = await result(600, 3);
    const big2 = await result(600, 2);
    const fresh = await result(300, 1);
    const run = await applyRetention(
      scratch.db,
      dataDir,
      { resultRetentionDays: 30, resultMaxTotalBytes: 1000 },
      silentLogger(),
    );
    // 40 days old goes by age; then newest first: 300 + 600 = 900 fits, + 600 does not.
    expect(run).toEqual({ expired: 2, bytes: 700 });
    const left = await readdir(join(dataDir, "jobs"));
    expect(left.sort()).toEqual([big2, fresh].sort());
    const store = createJobStore(scratch.db);
    for (const id of [old, big1]) {
      const kept = await store.result(id);
      expect(kept?.expired_at).toBeInstanceOf(Date);
      expect(kept?.sha256).toBe("ab");
      expect(kept?.analysis).toEqual({ packets: 1 });
    }
    expect((await store.result(fresh))?.expired_at).toBeNull();
    // A second run has nothing left to do.
    expect(
      await applyRetention(
        scratch.db,
        dataDir,
        { resultRetentionDays: 30, resultMaxTotalBytes: 1000 },
        silentLogger(),
      ),
    ).toEqual({ expired: 0, bytes: 0 });
  });
});
