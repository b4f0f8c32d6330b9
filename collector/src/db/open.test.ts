import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDb } from "./open.js";
import { silentLogger } from "./testing.js";

describe("openDb", () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "pcapfleet-data-"));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it("keeps an embedded PGlite database under <dataDir>/pglite across restarts", async () => {
    const log = silentLogger();
    const first = await openDb({ dataDir, log });
    expect(first.kind).toBe("pglite");
    await first.exec("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('survives');");
    await first.close();
    expect(await readdir(join(dataDir, "pglite"))).toContain("PG_VERSION");

    const second = await openDb({ databaseUrl: "", dataDir, log });
    const { rows } = await second.query<{ body: string }>("SELECT body FROM notes");
    expect(rows).toEqual([{ body: "survives" }]);
    await second.close();
  });

  // Registered only where the backend it needs is configured (CI runs both ways).
  if (process.env["DATABASE_URL"]) {
    it("uses Postgres when a URL is given", async () => {
      const db = await openDb({ databaseUrl: process.env["DATABASE_URL"], dataDir, log: silentLogger() });
      expect(db.kind).toBe("postgres");
      expect((await db.query<{ n: number }>("SELECT 1::int8 AS n")).rows).toEqual([{ n: 1 }]);
      await db.close();
      // Nothing was written to the data directory.
      expect(await readdir(dataDir)).toEqual([]);
    });
  }
});
