import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { dbBackends } from "../db/testing.js";
import { createHarness, type Harness, json, testPassword } from "../http/testing.js";
import { kvBackends } from "../kv/testing.js";
import type { TokenPair } from "./service.js";

const combos = dbBackends().flatMap((db) =>
  kvBackends().map((kv) => ({ name: `${db.name}+${kv.name}`, db, kv })),
);

describe.each(combos)("token lifecycle on $name", ({ db, kv }) => {
  // One harness per suite (PGlite start-up is slow); each test gets its own user.
  let h: Harness;
  let alice: string;
  let serial = 0;
  beforeAll(async () => {
    h = await createHarness(db, kv);
    await h.addUser("root", "admin");
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    serial += 1;
    alice = `alice${serial}`;
    await h.addUser(alice, "analyst");
  });

  const login = async (username = alice, password = testPassword) =>
    h.call("POST", "/api/v1/login", { body: { username, password } });

  it("logs in and returns the documented shape", async () => {
    const res = await login();
    expect(res.status).toBe(200);
    const body = await json<TokenPair>(res);
    expect(body).toMatchObject({ expires_in: 900, user: { username: alice, role: "analyst" } });
    expect(typeof body.access_token).toBe("string");
    expect(typeof body.refresh_token).toBe("string");
    const prefs = await h.call("GET", "/api/v1/preferences", { token: body.access_token });
    expect(prefs.status).toBe(200);
    const { rows } = await h.scratch.db.query<{ last_login_at: Date | null }>(
      "SELECT last_login_at FROM users WHERE username = $1",
      [alice],
    );
    expect(rows[0]?.last_login_at).toBeInstanceOf(Date);
  });

  it("rejects a wrong password and an unknown user alike", async () => {
    for (const res of [await login(alice, "wrong password"), await login("nobody", "whatever")]) {
      expect(res.status).toBe(401);
      expect(await json(res)).toEqual({ code: "unauthenticated", message: "invalid username or password" });
    }
  });

  it("rotates refresh tokens; reusing a spent one revokes the whole family", async () => {
    const first = await json<TokenPair>(await login());
    const second = await h.call("POST", "/api/v1/refresh", { body: { refresh_token: first.refresh_token } });
    expect(second.status).toBe(200);
    const pair2 = await json<TokenPair>(second);
    expect(pair2.refresh_token).not.toBe(first.refresh_token);
    // The new access token works.
    expect((await h.call("GET", "/api/v1/preferences", { token: pair2.access_token })).status).toBe(200);

    // Replaying the spent token: refused, and the family (including pair2) is revoked.
    const replay = await h.call("POST", "/api/v1/refresh", { body: { refresh_token: first.refresh_token } });
    expect(replay.status).toBe(401);
    expect((await json(replay)).message).toContain("reuse");
    expect(
      (await h.call("POST", "/api/v1/refresh", { body: { refresh_token: pair2.refresh_token } })).status,
    ).toBe(401);
    expect((await h.call("GET", "/api/v1/preferences", { token: pair2.access_token })).status).toBe(401);
    const { rows } = await h.scratch.db.query<{ revoke_reason: string }>(
      `SELECT s.revoke_reason FROM user_sessions s JOIN users u ON u.id = s.user_id
       WHERE u.username = $1 AND s.revoked_at IS NOT NULL`,
      [alice],
    );
    expect(rows.map((row) => row.revoke_reason)).toEqual(["refresh token reuse"]);

    // Other sessions of the same user are untouched.
    const other = await json<TokenPair>(await login());
    expect((await h.call("GET", "/api/v1/preferences", { token: other.access_token })).status).toBe(200);
  });

  it("logout revokes the session at once, also as seen by a second collector", async () => {
    const other = await h.second();
    const pair = await json<TokenPair>(await login());
    const onOther = () =>
      other.request("/api/v1/preferences", { headers: { authorization: `Bearer ${pair.access_token}` } });
    expect((await onOther()).status).toBe(200);
    const res = await h.call("POST", "/api/v1/logout", { token: pair.access_token });
    expect(res.status).toBe(204);
    expect((await h.call("GET", "/api/v1/preferences", { token: pair.access_token })).status).toBe(401);
    expect((await onOther()).status).toBe(401);
    expect(
      (await h.call("POST", "/api/v1/refresh", { body: { refresh_token: pair.refresh_token } })).status,
    ).toBe(401);
  });

  it("expires access tokens after 15 minutes and refresh tokens after 7 days", async () => {
    const pair = await json<TokenPair>(await login());
    h.advance(14 * 60 * 1000);
    expect((await h.call("GET", "/api/v1/preferences", { token: pair.access_token })).status).toBe(200);
    h.advance(2 * 60 * 1000);
    const expired = await h.call("GET", "/api/v1/preferences", { token: pair.access_token });
    expect(expired.status).toBe(401);
    expect((await json(expired)).message).toBe("token expired");
    // Refresh still works within 7 days...
    const refreshed = await h.call("POST", "/api/v1/refresh", {
      body: { refresh_token: pair.refresh_token },
    });
    expect(refreshed.status).toBe(200);
    const next = await json<TokenPair>(refreshed);
    // ...and not after.
    h.advance(7 * 24 * 3600 * 1000 + 1000);
    expect(
      (await h.call("POST", "/api/v1/refresh", { body: { refresh_token: next.refresh_token } })).status,
    ).toBe(401);
  });

  it("a disabled user cannot log in, and their sessions stop working", async () => {
    const admin = await h.tokens("root");
    const pair = await json<TokenPair>(await login());
    const res = await h.call("PATCH", `/api/v1/admin/users/${alice}`, {
      token: admin.access_token,
      body: { disabled: true },
    });
    expect(res.status).toBe(200);
    expect((await h.call("GET", "/api/v1/preferences", { token: pair.access_token })).status).toBe(401);
    expect(
      (await h.call("POST", "/api/v1/refresh", { body: { refresh_token: pair.refresh_token } })).status,
    ).toBe(401);
    const again = await login();
    expect(again.status).toBe(401);
    expect((await json(again)).message).toBe("account disabled");
  });
});
