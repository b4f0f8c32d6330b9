import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbBackends } from "../db/testing.js";
import { kvBackends } from "../kv/testing.js";
import { createHarness, type Harness, json } from "./testing.js";

const combos = dbBackends().flatMap((db) =>
  kvBackends().map((kv) => ({ name: `${db.name}+${kv.name}`, db, kv })),
);

const b64 = (value: object): string => Buffer.from(JSON.stringify(value)).toString("base64url");

describe.each(combos)("bad input on $name", ({ db, kv }) => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await createHarness(db, kv);
    await h.addUser("root", "admin");
    await h.addUser("victim", "viewer");
    admin = (await h.tokens("root")).access_token;
  });
  afterAll(() => h.close());

  /** Every table this module owns, as JSON text, to prove a refused request changed nothing. */
  async function snapshot(): Promise<string> {
    const parts: unknown[] = [];
    for (const table of ["users", "user_sessions", "user_preferences", "audit_log", "auth_signing_keys"]) {
      parts.push((await h.scratch.db.query(`SELECT * FROM ${table} ORDER BY 1`)).rows);
    }
    return JSON.stringify(parts);
  }

  async function expectRefused(res: Response, status: number, code: string, message?: RegExp): Promise<void> {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    const body = JSON.parse(text);
    expect(body.code).toBe(code);
    expect(typeof body.message).toBe("string");
    if (message !== undefined) expect(body.message).toMatch(message);
  }

  it("refuses malformed bodies with clear 4xx and leaves the tables unchanged", async () => {
    const before = await snapshot();
    const post = (body: unknown, headers?: Record<string, string>) =>
      h.call("POST", "/api/v1/admin/users", { token: admin, body, ...(headers ? { headers } : {}) });
    await expectRefused(await post('{"username": "x", '), 400, "invalid_argument", /JSON/i);
    await expectRefused(await post("null"), 400, "invalid_argument");
    await expectRefused(await post("[1,2]"), 400, "invalid_argument");
    await expectRefused(
      await post({ username: 5, password: "long enough", role: "viewer" }),
      400,
      "invalid_argument",
      /username/,
    );
    await expectRefused(
      await post({ username: "x", password: "long enough", role: "god" }),
      400,
      "invalid_argument",
      /role/,
    );
    await expectRefused(
      await post({ username: "x", password: "short", role: "viewer" }),
      400,
      "invalid_argument",
      /password/,
    );
    await expectRefused(
      await post({ username: "x", password: "long enough", role: "viewer", is_admin: true }),
      400,
      "invalid_argument",
      /unknown field: is_admin/,
    );
    await expectRefused(await post({}, { "content-type": "text/plain" }), 415, "invalid_argument");
    await expectRefused(
      await h.call("PUT", "/api/v1/preferences", { token: admin, body: { time_zone: "Mars/Olympus" } }),
      400,
      "invalid_argument",
      /time_zone/,
    );
    await expectRefused(
      await h.call("PUT", "/api/v1/preferences", { token: admin, body: { theme: ["dark"] } }),
      400,
      "invalid_argument",
      /theme/,
    );
    await expectRefused(
      await h.call("GET", "/api/v1/admin/audit?limit=abc", { token: admin }),
      400,
      "invalid_argument",
      /limit/,
    );
    await expectRefused(
      await h.call("GET", "/api/v1/admin/audit?from=yesterday", { token: admin }),
      400,
      "invalid_argument",
    );
    expect(await snapshot()).toBe(before);
  });

  it("refuses bodies over 1 MiB and avatars over 256 KiB with 413", async () => {
    const before = await snapshot();
    const huge = JSON.stringify({ username: "x", password: "y".repeat(1024 * 1024 + 10), role: "viewer" });
    await expectRefused(
      await h.call("POST", "/api/v1/admin/users", { token: admin, body: huge }),
      413,
      "too_large",
    );
    // Without a Content-Length the limit is enforced while reading the stream.
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 20; i += 1) controller.enqueue(new Uint8Array(64 * 1024).fill(32));
        controller.close();
      },
    });
    const res = await h.app.request("/api/v1/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: streamed,
      duplex: "half",
    } as RequestInit);
    await expectRefused(res, 413, "too_large");
    const png = new Uint8Array(300 * 1024);
    png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const avatar = await h.app.request("/api/v1/preferences/avatar", {
      method: "PUT",
      headers: { authorization: `Bearer ${admin}`, "content-type": "image/png" },
      body: png,
    });
    await expectRefused(avatar, 413, "too_large");
    expect(await snapshot()).toBe(before);
  });

  it("refuses path tricks without touching other users", async () => {
    const viewer = (await h.tokens("victim")).access_token;
    const before = await snapshot();
    for (const path of [
      "/api/v1/admin/users/..%2f..",
      "/api/v1/admin/users/..%2fvictim",
      "/api/v1/admin/users/%2e%2e",
      "/api/v1/admin/users/victim%00",
      "/api/v1/admin/users/%ZZ",
    ]) {
      for (const method of ["PATCH", "DELETE"]) {
        const res = await h.call(method, path, {
          token: admin,
          body: method === "PATCH" ? { disabled: true } : undefined,
        });
        expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${method} ${path}`).toBeLessThan(500);
        expect((await json(res)).code).toMatch(/invalid_argument|not_found/);
      }
    }
    // Dot segments are not a way around the permission table.
    const sneaky = await h.call("GET", "/api/v1/preferences/../admin/users", { token: viewer });
    expect([403, 404]).toContain(sneaky.status);
    expect(await snapshot()).toBe(before);
  });

  it("refuses forged, alg-none, expired, wrong-kid and malformed tokens with 401", async () => {
    const before = await snapshot();
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      sub: "root",
      role: "admin",
      sid: "00000000-0000-0000-0000-000000000000",
      iss: "pcapfleet",
    };
    const sign = (header: object, payload: object, secret: string) =>
      new SignJWT(payload as Record<string, unknown>)
        .setProtectedHeader({ alg: "HS256", typ: "at+jwt", ...header })
        .sign(new TextEncoder().encode(secret));
    const tokens = {
      none: `${b64({ alg: "none", typ: "at+jwt", kid: "generated-1" })}.${b64({ ...claims, exp: now + 600 })}.`,
      forged: await sign({ kid: "generated-1" }, { ...claims, exp: now + 600 }, "f".repeat(48)),
      wrongKid: await sign({ kid: "nope" }, { ...claims, exp: now + 600 }, "f".repeat(48)),
      garbage: "abc.def.ghi",
      empty: "",
    };
    const { rows } = await h.scratch.db.query<{ secret: string }>("SELECT secret FROM auth_signing_keys");
    const realSecret = rows[0]?.secret ?? "";
    const expired = await sign(
      { kid: "generated-1" },
      { ...claims, iat: now - 3600, exp: now - 1 },
      realSecret,
    );
    for (const [name, token] of Object.entries({ ...tokens, expired })) {
      const res = await h.call("GET", "/api/v1/admin/users", {
        headers: { authorization: `Bearer ${token}` },
      });
      await expectRefused(res, 401, "unauthenticated");
      expect(name).toBeTruthy();
    }
    const basic = await h.call("GET", "/api/v1/admin/users", {
      headers: { authorization: "Basic cm9vdDpyb290" },
    });
    await expectRefused(basic, 401, "unauthenticated");
    expect(await snapshot()).toBe(before);
  });
});
