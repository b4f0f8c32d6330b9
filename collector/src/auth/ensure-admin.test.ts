import { createLogger } from "@pcapfleet/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dbBackends, type ScratchDb, silentLogger } from "../db/testing.js";
import { migrateUsers, testScrypt } from "../http/testing.js";
import { ensureAdmin } from "./ensure-admin.js";
import { verifyPassword } from "./password.js";

describe.each(dbBackends())("ensureAdmin on $name", (backend) => {
  let scratch: ScratchDb;
  beforeEach(async () => {
    scratch = await backend.create();
    await migrateUsers(scratch, silentLogger());
  });
  afterEach(() => scratch.drop());

  const hashOf = async (): Promise<string[]> =>
    (
      await scratch.db.query<{ password_hash: string }>(
        "SELECT password_hash FROM users WHERE username = 'admin'",
      )
    ).rows.map((row) => row.password_hash);

  it("creates admin with a random password logged once, then does nothing", async () => {
    const lines: string[] = [];
    const log = createLogger({
      name: "t",
      level: "info",
      destination: { write: (l: string) => lines.push(l) },
    });
    const first = await ensureAdmin({ db: scratch.db, log, scrypt: testScrypt });
    expect(first.created).toBe(true);
    const password = first.generatedPassword ?? "";
    expect(password.length).toBeGreaterThanOrEqual(20);
    expect(lines.filter((line) => line.includes(password))).toHaveLength(1);
    const [hash] = await hashOf();
    expect(await verifyPassword(password, hash ?? "")).toBe(true);

    const second = await ensureAdmin({ db: scratch.db, log, scrypt: testScrypt });
    expect(second).toEqual({ created: false });
    expect(lines.filter((line) => line.includes(password))).toHaveLength(1);
    expect(await hashOf()).toEqual([hash]);
  });

  it("uses the configured password and never logs it", async () => {
    const lines: string[] = [];
    const log = createLogger({
      name: "t",
      level: "info",
      destination: { write: (l: string) => lines.push(l) },
    });
    const result = await ensureAdmin({
      db: scratch.db,
      log,
      password: "configured-pass",
      scrypt: testScrypt,
    });
    expect(result).toEqual({ created: true });
    expect(lines.join("\n")).not.toContain("configured-pass");
    const [hash] = await hashOf();
    expect(await verifyPassword("configured-pass", hash ?? "")).toBe(true);
    const { rows } = await scratch.db.query("SELECT role, source FROM users WHERE username = 'admin'");
    expect(rows).toEqual([{ role: "admin", source: "local" }]);
  });
});
