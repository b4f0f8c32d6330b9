import { createServer } from "node:net";
import { AppError, ErrorCode } from "@pcapfleet/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPgDb } from "./pg.js";
import { dbBackends, type ScratchDb, silentLogger } from "./testing.js";
import type { Queryable } from "./types.js";

/** Resolves to what `promise` rejects with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const outcome = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(outcome).toBeInstanceOf(AppError);
  return outcome as AppError;
}

async function count(db: Queryable, table: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
  return rows[0]?.n ?? -1;
}

describe.each(dbBackends())("Db on $name", (backend) => {
  let scratch: ScratchDb;
  beforeAll(async () => {
    scratch = await backend.create();
  });
  afterAll(() => scratch.drop());

  it("reports its kind", () => {
    expect(scratch.db.kind).toBe(backend.name);
  });

  it("runs parameterised queries and counts rows alike", async () => {
    const { db } = scratch;
    const created = await db.query("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)");
    expect(created.rowCount).toBe(0);
    const inserted = await db.query<{ id: number }>(
      "INSERT INTO items (id, name) VALUES ($1, $2), ($3, $4) RETURNING id",
      [1, "one", 2, "it's two; DROP TABLE items"],
    );
    expect(inserted.rowCount).toBe(2);
    expect(inserted.rows.map((row) => row.id)).toEqual([1, 2]);
    const selected = await db.query<{ name: string }>("SELECT name FROM items WHERE id = $1", [2]);
    expect(selected.rows).toEqual([{ name: "it's two; DROP TABLE items" }]);
    expect(selected.rowCount).toBe(1);
    const updated = await db.query("UPDATE items SET name = upper(name)");
    expect(updated).toEqual({ rows: [], rowCount: 2 });
  });

  it("parses column types the same way on every backend", async () => {
    const { rows } = await scratch.db.query(
      `SELECT 9007199254740991::int8 AS big, ARRAY[1, NULL, 3]::int8[] AS bigs, 7::int4 AS small,
              1.50::numeric AS money, '2024-02-29'::date AS day, '{"a": [1]}'::jsonb AS doc,
              '2024-01-02T03:04:05Z'::timestamptz AS at, 'ab'::bytea AS raw, NULL::text AS nothing`,
    );
    const row = rows[0] ?? {};
    expect(row).toMatchObject({
      big: 9007199254740991,
      bigs: [1, null, 3],
      small: 7,
      money: "1.50",
      day: "2024-02-29",
      doc: { a: [1] },
      nothing: null,
    });
    expect(row["at"]).toEqual(new Date("2024-01-02T03:04:05Z"));
    expect(Array.from(row["raw"] as Uint8Array)).toEqual([97, 98]);
  });

  it("commits a transaction when the callback resolves", async () => {
    const { db } = scratch;
    await db.exec("CREATE TABLE ledger (id serial PRIMARY KEY, amount int NOT NULL)");
    const result = await db.transaction(async (tx) => {
      await tx.query("INSERT INTO ledger (amount) VALUES ($1)", [10]);
      await tx.query("INSERT INTO ledger (amount) VALUES ($1)", [20]);
      return "done";
    });
    expect(result).toBe("done");
    expect(await count(db, "ledger")).toBe(2);
  });

  it("rolls back and re-throws the callback's own error", async () => {
    const { db } = scratch;
    await db.exec("CREATE TABLE rollback_probe (v int)");
    const boom = new Error("boom");
    const thrown = await db
      .transaction(async (tx) => {
        await tx.query("INSERT INTO rollback_probe VALUES (1)");
        throw boom;
      })
      .catch((reason: unknown) => reason);
    expect(thrown).toBe(boom);
    expect(await count(db, "rollback_probe")).toBe(0);
  });

  it("refuses to report a commit when a failed statement was swallowed", async () => {
    const { db } = scratch;
    await db.exec("CREATE TABLE swallow_probe (v int PRIMARY KEY)");
    const error = await rejection(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO swallow_probe VALUES (1)");
        await tx.query("INSERT INTO swallow_probe VALUES (1)").catch(() => undefined);
      }),
    );
    expect(error.details?.["sqlState"]).toBe("25P02");
    expect(await count(db, "swallow_probe")).toBe(0);
  });

  it("runs multi-statement scripts, all or nothing", async () => {
    const { db } = scratch;
    await db.exec("CREATE TABLE s1 (v int); CREATE TABLE s2 (v int); INSERT INTO s1 VALUES (1), (2);");
    expect(await count(db, "s1")).toBe(2);
    const error = await rejection(db.exec("CREATE TABLE s3 (v int); INSERT INTO s1 VALUES (3); SELECT 1/0;"));
    expect(error.message).toContain("division by zero");
    expect(error.code).toBe(ErrorCode.InvalidArgument);
    expect(await count(db, "s1")).toBe(2);
    const { rows } = await db.query("SELECT 1 FROM pg_tables WHERE tablename = 's3'");
    expect(rows).toEqual([]);
  });

  it("maps SQL errors to AppError codes, keeping message and SQLSTATE", async () => {
    const { db } = scratch;
    await db.exec("CREATE TABLE users_probe (name text PRIMARY KEY, age int CHECK (age >= 0))");
    await db.query("INSERT INTO users_probe VALUES ($1, $2)", ["ada", 36]);

    const duplicate = await rejection(db.query("INSERT INTO users_probe VALUES ($1, $2)", ["ada", 1]));
    expect(duplicate.code).toBe(ErrorCode.Conflict);
    expect(duplicate.message).toContain("duplicate key value violates unique constraint");
    expect(duplicate.details).toMatchObject({ sqlState: "23505", constraint: "users_probe_pkey" });
    expect((duplicate.cause as { code?: string }).code).toBe("23505");

    const check = await rejection(db.query("INSERT INTO users_probe VALUES ($1, $2)", ["bob", -1]));
    expect(check.code).toBe(ErrorCode.InvalidArgument);
    expect(check.details?.["sqlState"]).toBe("23514");

    const badText = await rejection(db.query("SELECT $1::int AS n", ["twelve"]));
    expect(badText.code).toBe(ErrorCode.InvalidArgument);
    expect(badText.details?.["sqlState"]).toBe("22P02");

    const syntax = await rejection(db.query("SELEC 1"));
    expect(syntax.code).toBe(ErrorCode.Internal);
    expect(syntax.details?.["sqlState"]).toBe("42601");
  });

  it("gives withConnection one session for session-level state", async () => {
    const { db } = scratch;
    const seen = await db.withConnection(async (conn) => {
      await conn.query("SELECT set_config('pcapfleet.probe', 'kept', false)");
      const inTx = await conn.transaction(async (tx) => {
        const { rows } = await tx.query<{ v: string }>("SELECT current_setting('pcapfleet.probe') AS v");
        return rows[0]?.v;
      });
      const { rows } = await conn.query<{ v: string }>("SELECT current_setting('pcapfleet.probe') AS v");
      return [inTx, rows[0]?.v];
    });
    expect(seen).toEqual(["kept", "kept"]);
  });

  it("releases advisory locks of a withConnection whose callback threw", async () => {
    const { db } = scratch;
    const failed = db.withConnection(async (conn) => {
      await conn.query("SELECT pg_advisory_lock(4242)");
      throw new Error("crash while holding the lock");
    });
    await expect(failed).rejects.toThrow("crash while holding the lock");
    // On Postgres the session is discarded; the server notices the closed socket a moment later.
    await expect
      .poll(
        () =>
          db.withConnection(async (conn) => {
            const { rows } = await conn.query<{ got: boolean }>("SELECT pg_try_advisory_lock(4242) AS got");
            if (rows[0]?.got === true) await conn.query("SELECT pg_advisory_unlock(4242)");
            return rows[0]?.got;
          }),
        { timeout: 5_000, interval: 50 },
      )
      .toBe(true);
  });

  it("keeps the caller's advisory lock when a nested withConnection fails", async () => {
    const { db } = scratch;
    const held = await db.withConnection(async (conn) => {
      await conn.query("SELECT pg_advisory_lock(5151)");
      await db.withConnection(async () => Promise.reject(new Error("inner failure"))).catch(() => undefined);
      const { rows } = await conn.query<{ n: number }>(
        "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 5151 AND pid = pg_backend_pid()",
      );
      await conn.query("SELECT pg_advisory_unlock(5151)");
      return rows[0]?.n;
    });
    expect(held).toBe(1);
  });

  it("does not deadlock when withConnection's callback uses the outer handle", async () => {
    const { db } = scratch;
    const result = await db.withConnection(async (conn) => {
      await conn.query("SELECT 1");
      const outer = await db.query<{ n: number }>("SELECT 2 AS n");
      const viaTx = await db.transaction(
        async (tx) => (await tx.query<{ n: number }>("SELECT 3 AS n")).rows[0]?.n,
      );
      return [outer.rows[0]?.n, viaTx];
    });
    expect(result).toEqual([2, 3]);
  });

  // Registered only where the backend it needs is configured (CI runs both ways).
  if (backend.name === "pglite") {
    it("fails fast when a transaction calls the outer handle", async () => {
      const { db } = scratch;
      const error = await rejection(db.transaction(async () => db.query("SELECT 1")));
      expect(error.code).toBe(ErrorCode.Internal);
      expect(error.message).toContain("tx");
      expect((await db.query<{ n: number }>("SELECT 1 AS n")).rows).toEqual([{ n: 1 }]);
    });
  }

  it("keeps concurrent transactions consistent", async () => {
    const { db } = scratch;
    await db.exec(
      "CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counter VALUES (1, 0);",
    );
    await Promise.all(
      Array.from({ length: 25 }, () =>
        db.transaction(async (tx) => {
          await tx.query("UPDATE counter SET n = n + 1 WHERE id = 1");
        }),
      ),
    );
    const { rows } = await db.query<{ n: number }>("SELECT n FROM counter WHERE id = 1");
    expect(rows).toEqual([{ n: 25 }]);
  });

  it("refuses work after close", async () => {
    const own = await backend.create();
    await own.drop();
    const error = await rejection(own.db.query("SELECT 1"));
    expect(error.code).toBe(ErrorCode.Unavailable);
    await own.drop();
  });
});

describe("createPgDb", () => {
  it("fails fast as unavailable when nothing listens", async () => {
    const server = createServer();
    const port = await new Promise<number>((resolve) => {
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        resolve(typeof address === "object" && address !== null ? address.port : 0);
      });
    });
    await new Promise((resolve) => server.close(resolve));
    const started = Date.now();
    const error = await rejection(
      createPgDb(`postgres://postgres@127.0.0.1:${port}/postgres`, { log: silentLogger() }),
    );
    expect(error.code).toBe(ErrorCode.Unavailable);
    expect(error.message).toContain("cannot open Postgres database");
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
