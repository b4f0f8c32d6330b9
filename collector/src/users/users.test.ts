import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbBackends } from "../db/testing.js";
import { createHarness, type Harness, json, testPassword } from "../http/testing.js";
import { kvBackends } from "../kv/testing.js";

const combos = dbBackends().flatMap((db) =>
  kvBackends().map((kv) => ({ name: `${db.name}+${kv.name}`, db, kv })),
);

interface AuditPage {
  entries: Array<{
    actor: string;
    action: string;
    target: string;
    ip: string;
    details: Record<string, unknown>;
  }>;
  total: number;
  next_offset: number | null;
}

describe.each(combos)("users, audit and preferences on $name", ({ db, kv }) => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await createHarness(db, kv, { config: { trustProxy: true } });
    await h.addUser("root", "admin");
    admin = (await h.tokens("root")).access_token;
  });
  afterAll(() => h.close());

  const asAdmin = (method: string, path: string, body?: unknown) =>
    h.call(method, path, { token: admin, body, headers: { "x-forwarded-for": "192.0.2.7" } });
  const login = (username: string, password: string) =>
    h.call("POST", "/api/v1/login", {
      body: { username, password },
      headers: { "x-forwarded-for": "198.51.100.1" },
    });

  it("creates, lists, updates and deletes users, auditing each change without secrets", async () => {
    const created = await asAdmin("POST", "/api/v1/admin/users", {
      username: "bob",
      password: "bob-password-1",
      role: "viewer",
    });
    expect(created.status).toBe(201);
    expect(await json(created)).toMatchObject({
      username: "bob",
      role: "viewer",
      source: "local",
      disabled: false,
    });
    expect(
      (
        await asAdmin("POST", "/api/v1/admin/users", {
          username: "bob",
          password: "another-pass",
          role: "admin",
        })
      ).status,
    ).toBe(409);

    const list = await json<{ users: Array<{ username: string }> }>(
      await asAdmin("GET", "/api/v1/admin/users"),
    );
    expect(list.users.map((u) => u.username)).toEqual(expect.arrayContaining(["root", "bob"]));

    const bobSession = await json<{ access_token: string }>(await login("bob", "bob-password-1"));
    const promoted = await asAdmin("PATCH", "/api/v1/admin/users/bob", {
      role: "analyst",
      password: "bob-password-2",
    });
    expect(promoted.status).toBe(200);
    expect((await json<{ role: string }>(promoted)).role).toBe("analyst");
    // Role and password changed: the old session is gone, the old password too.
    expect((await h.call("GET", "/api/v1/preferences", { token: bobSession.access_token })).status).toBe(401);
    expect((await login("bob", "bob-password-1")).status).toBe(401);
    expect((await login("bob", "bob-password-2")).status).toBe(200);

    expect((await asAdmin("PATCH", "/api/v1/admin/users/ghost", { disabled: true })).status).toBe(404);
    expect((await asAdmin("PATCH", "/api/v1/admin/users/bob", {})).status).toBe(400);
    expect((await asAdmin("DELETE", "/api/v1/admin/users/root")).status).toBe(409);
    expect((await asAdmin("PATCH", "/api/v1/admin/users/root", { role: "viewer" })).status).toBe(409);
    expect((await asAdmin("PATCH", "/api/v1/admin/users/root", { disabled: true })).status).toBe(409);

    const bobAgain = await json<{ access_token: string }>(await login("bob", "bob-password-2"));
    expect((await asAdmin("DELETE", "/api/v1/admin/users/bob")).status).toBe(204);
    expect((await asAdmin("DELETE", "/api/v1/admin/users/bob")).status).toBe(404);
    // A deleted user's tokens stop at once.
    expect((await h.call("GET", "/api/v1/preferences", { token: bobAgain.access_token })).status).toBe(401);

    const audit = await json<AuditPage>(await asAdmin("GET", "/api/v1/admin/audit?actor=root"));
    expect(audit.entries.map((e) => [e.action, e.target])).toEqual([
      ["user.delete", "bob"],
      ["user.update", "bob"],
      ["user.create", "bob"],
    ]);
    expect(audit.entries.every((e) => e.actor === "root" && e.ip === "192.0.2.7")).toBe(true);
    expect(audit.entries[1]?.details).toEqual({
      role: { from: "viewer", to: "analyst" },
      password_reset: true,
    });
    const raw = JSON.stringify((await h.scratch.db.query("SELECT * FROM audit_log")).rows);
    expect(raw).not.toContain("bob-password");
  });

  it("refuses to delete the last enabled admin at the store level", async () => {
    await expect(h.auth.users.remove("root")).rejects.toMatchObject({ code: "conflict" });
  });

  it("filters and pages the audit log", async () => {
    const base = new Date("2030-01-01T00:00:00Z").getTime();
    const auditLog = (await import("../audit/audit-log.js")).createAuditLog(h.scratch.db);
    for (let i = 0; i < 5; i += 1) {
      await auditLog.record({
        actor: "pager",
        action: i % 2 === 0 ? "x.even" : "x.odd",
        target: `t${i}`,
        ip: null,
        at: new Date(base + i * 60_000),
      });
    }
    const page1 = await json<AuditPage>(await asAdmin("GET", "/api/v1/admin/audit?actor=pager&limit=2"));
    expect(page1.total).toBe(5);
    expect(page1.entries.map((e) => e.target)).toEqual(["t4", "t3"]);
    expect(page1.next_offset).toBe(2);
    const page3 = await json<AuditPage>(
      await asAdmin("GET", "/api/v1/admin/audit?actor=pager&limit=2&offset=4"),
    );
    expect(page3.entries.map((e) => e.target)).toEqual(["t0"]);
    expect(page3.next_offset).toBeNull();
    const even = await json<AuditPage>(await asAdmin("GET", "/api/v1/admin/audit?actor=pager&action=x.even"));
    expect(even.entries.map((e) => e.target)).toEqual(["t4", "t2", "t0"]);
    const from = encodeURIComponent(new Date(base + 60_000).toISOString());
    const to = encodeURIComponent(new Date(base + 3 * 60_000).toISOString());
    const window = await json<AuditPage>(
      await asAdmin("GET", `/api/v1/admin/audit?actor=pager&from=${from}&to=${to}`),
    );
    expect(window.entries.map((e) => e.target)).toEqual(["t2", "t1"]);
  });

  it("keeps preferences per user, validates time zones, stores avatars by content", async () => {
    await h.addUser("pat", "viewer");
    const token = (await h.tokens("pat")).access_token;
    const get = async () => json(await h.call("GET", "/api/v1/preferences", { token }));
    expect(await get()).toEqual({
      theme: "system",
      time_zone: "UTC",
      default_location: null,
      table_density: "comfortable",
      has_avatar: false,
    });
    const put = await h.call("PUT", "/api/v1/preferences", {
      token,
      body: { theme: "dark", time_zone: "Europe/Berlin", default_location: "hq" },
    });
    expect(put.status).toBe(200);
    expect(
      (await h.call("PUT", "/api/v1/preferences", { token, body: { table_density: "compact" } })).status,
    ).toBe(200);
    expect(await get()).toEqual({
      theme: "dark",
      time_zone: "Europe/Berlin",
      default_location: "hq",
      table_density: "compact",
      has_avatar: false,
    });
    expect(
      (await h.call("PUT", "/api/v1/preferences", { token, body: { time_zone: "Not/AZone" } })).status,
    ).toBe(400);
    expect(
      (await h.call("PUT", "/api/v1/preferences", { token, body: { default_location: null } })).status,
    ).toBe(200);
    expect(await get()).toMatchObject({ default_location: null, time_zone: "Europe/Berlin" });
    // Admin's preferences are separate.
    expect(await json(await h.call("GET", "/api/v1/preferences", { token: admin }))).toMatchObject({
      theme: "system",
    });

    const upload = (bytes: Uint8Array, type = "image/png") =>
      h.app.request("/api/v1/preferences/avatar", {
        method: "PUT",
        headers: { authorization: `Bearer ${token}`, "content-type": type },
        body: bytes,
      });
    expect((await h.call("GET", "/api/v1/preferences/avatar", { token })).status).toBe(404);
    const gif = new TextEncoder().encode("GIF89a.....");
    expect((await upload(gif)).status).toBe(400);
    expect((await upload(new Uint8Array(0))).status).toBe(400);
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]);
    // Declared PNG, content JPEG: the content decides.
    expect((await upload(jpeg, "image/png")).status).toBe(204);
    const back = await h.call("GET", "/api/v1/preferences/avatar", { token });
    expect(back.status).toBe(200);
    expect(back.headers.get("content-type")).toBe("image/jpeg");
    expect(new Uint8Array(await back.arrayBuffer())).toEqual(jpeg);
    expect(await get()).toMatchObject({ has_avatar: true });
  });

  it("checks login against the stored hash and refuses disabled accounts", async () => {
    await h.addUser("dora", "viewer", true);
    const res = await login("dora", testPassword);
    expect(res.status).toBe(401);
    expect((await json(res)).message).toBe("account disabled");
  });
});
