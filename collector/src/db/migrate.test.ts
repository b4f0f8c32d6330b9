import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppError, createLogger, ErrorCode, type Logger } from "@pcapfleet/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { migrate, readMigrations } from "./migrate.js";
import { dbBackends, type ScratchDb } from "./testing.js";
import type { Queryable } from "./types.js";

/** A logger whose JSON lines land in `lines`, to assert on warnings. */
function capturingLogger(lines: string[]): Logger {
  return createLogger({
    name: "test",
    level: "debug",
    destination: { write: (line: string) => lines.push(line) },
  });
}

async function writeMigrations(dir: string, files: Readonly<Record<string, string>>): Promise<void> {
  for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql);
}

async function tables(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
  );
  return rows.map((row) => row.name);
}

async function recorded(db: Queryable): Promise<Array<{ version: number; name: string }>> {
  const { rows } = await db.query<{ version: number; name: string; checksum: string; applied_at: Date }>(
    "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version",
  );
  for (const row of rows) {
    expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(row.applied_at).toBeInstanceOf(Date);
  }
  return rows.map(({ version, name }) => ({ version, name }));
}

/** Three migrations that only work in order, and would fail if any ran twice. */
const ordered = {
  "010_seed.sql": "INSERT INTO sensors (name) VALUES ('alpha'), ('beta');",
  "001_sensors.sql": "CREATE TABLE sensors (id serial PRIMARY KEY, name text NOT NULL UNIQUE);",
  "002_locations.sql":
    "CREATE TABLE locations (name text PRIMARY KEY);\nALTER TABLE sensors ADD COLUMN location text REFERENCES locations;",
};

describe.each(dbBackends())("migrate on $name", (backend) => {
  let scratch: ScratchDb;
  let dir: string;
  let lines: string[];
  let log: Logger;

  beforeEach(async () => {
    scratch = await backend.create();
    dir = await mkdtemp(join(tmpdir(), "pcapfleet-migrations-"));
    lines = [];
    log = capturingLogger(lines);
  });
  afterEach(async () => {
    await scratch.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it("applies files in numeric order, records them, and is idempotent", async () => {
    await writeMigrations(dir, { ...ordered, "README.md": "not sql", "2_misnamed.sql": "SELECT 1;" });
    const first = await migrate(scratch.db, dir, { log });
    expect(first).toEqual({ applied: ["001_sensors.sql", "002_locations.sql", "010_seed.sql"], version: 10 });
    expect(await tables(scratch.db)).toEqual(["locations", "schema_migrations", "sensors"]);
    expect(await recorded(scratch.db)).toEqual([
      { version: 1, name: "sensors" },
      { version: 2, name: "locations" },
      { version: 10, name: "seed" },
    ]);
    const warnings = lines.filter((line) => line.includes('"level":40'));
    expect(warnings.join("\n")).toContain("2_misnamed.sql");
    expect(warnings.join("\n")).not.toContain("README.md");

    const again = await migrate(scratch.db, dir, { log });
    expect(again).toEqual({ applied: [], version: 10 });
    const { rows } = await scratch.db.query<{ n: number }>("SELECT count(*) AS n FROM sensors");
    expect(rows).toEqual([{ n: 2 }]);
  });

  it("applies only files added since the last run", async () => {
    await writeMigrations(dir, { "001_sensors.sql": ordered["001_sensors.sql"] });
    await migrate(scratch.db, dir, { log });
    await writeMigrations(dir, ordered);
    const later = await migrate(scratch.db, dir, { log });
    expect(later.applied).toEqual(["002_locations.sql", "010_seed.sql"]);
  });

  it("rolls a failing file back completely and names it in the error", async () => {
    await writeMigrations(dir, {
      "001_sensors.sql": ordered["001_sensors.sql"],
      "002_broken.sql":
        "CREATE TABLE half_done (id int);\nINSERT INTO sensors (name) VALUES ('x');\nSELECT 1/0;",
      "003_after.sql": "CREATE TABLE after_broken (id int);",
    });
    const error = await migrate(scratch.db, dir, { log }).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(AppError);
    const appError = error as AppError;
    expect(appError.message).toContain("002_broken.sql");
    expect(appError.message).toContain("division by zero");
    expect(appError.details).toMatchObject({ file: "002_broken.sql", sqlState: "22012" });

    expect(await tables(scratch.db)).toEqual(["schema_migrations", "sensors"]);
    expect(await recorded(scratch.db)).toEqual([{ version: 1, name: "sensors" }]);
    const { rows } = await scratch.db.query("SELECT * FROM sensors");
    expect(rows).toEqual([]);
    // The lock was released: after fixing the file, the next run goes through.
    await writeMigrations(dir, { "002_broken.sql": "CREATE TABLE half_done (id int);" });
    expect((await migrate(scratch.db, dir, { log })).applied).toEqual(["002_broken.sql", "003_after.sql"]);
  });

  it("refuses to run when an applied file was changed", async () => {
    await writeMigrations(dir, ordered);
    await migrate(scratch.db, dir, { log });
    await writeMigrations(dir, {
      "002_locations.sql": `${ordered["002_locations.sql"]}\n-- edited later`,
      "020_new.sql": "CREATE TABLE never_applied (id int);",
    });
    const error = await migrate(scratch.db, dir, { log }).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe(ErrorCode.Conflict);
    expect((error as AppError).message).toContain("002_locations.sql");
    expect(await tables(scratch.db)).not.toContain("never_applied");
  });

  it("applies each file once when two migrate calls race", async () => {
    await writeMigrations(dir, {
      ...ordered,
      // Slow enough that the second caller certainly arrives while the first holds the lock.
      "003_slow.sql":
        "SELECT pg_sleep(0.3);\nCREATE TABLE slow_done (id int PRIMARY KEY);\nINSERT INTO slow_done VALUES (1);",
    });
    const other = await scratch.openAnother();
    const results = await Promise.all([migrate(scratch.db, dir, { log }), migrate(other, dir, { log })]);
    const applied = results.flatMap((result) => result.applied).sort();
    expect(applied).toEqual(["001_sensors.sql", "002_locations.sql", "003_slow.sql", "010_seed.sql"]);
    expect(results.map((result) => result.version)).toEqual([10, 10]);
    expect((await recorded(other)).map((row) => row.version)).toEqual([1, 2, 3, 10]);
  });

  it("fails clearly for a missing directory and for duplicate versions", async () => {
    const missing = await readMigrations(join(dir, "nope"), log).catch((reason: unknown) => reason);
    expect((missing as AppError).code).toBe(ErrorCode.StorageIo);
    await writeMigrations(dir, { "001_a.sql": "SELECT 1;", "001_b.sql": "SELECT 2;" });
    const duplicate = await migrate(scratch.db, dir, { log }).catch((reason: unknown) => reason);
    expect((duplicate as AppError).code).toBe(ErrorCode.InvalidArgument);
    expect((duplicate as AppError).message).toContain("001_a.sql");
  });
});
