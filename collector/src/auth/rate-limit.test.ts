import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbBackends } from "../db/testing.js";
import { createHarness, type Harness, json, testPassword } from "../http/testing.js";
import { kvBackends } from "../kv/testing.js";

// Storage-light suite: the limiter lives in the key-value store, so it runs on every kv backend.
const [pglite] = dbBackends({});
const suites = kvBackends().map((kv) => ({ name: kv.name, kv }));

describe.each(suites)("failed-login limits on $name", ({ kv }) => {
  let h: Harness;
  beforeAll(async () => {
    if (pglite === undefined) throw new Error("no pglite backend");
    h = await createHarness(pglite, kv, {
      config: { maxFailuresPerUser: 3, maxFailuresPerIp: 5, failureWindowSeconds: 120, trustProxy: true },
    });
    for (const name of ["carol", "dave", "erin"]) await h.addUser(name, "viewer");
  });
  afterAll(() => h.close());

  const login = (username: string, password: string, ip: string) =>
    h.call("POST", "/api/v1/login", { body: { username, password }, headers: { "x-forwarded-for": ip } });

  it("refuses a user after too many failures, even with the right password, with Retry-After", async () => {
    for (let i = 0; i < 3; i += 1) expect((await login("carol", "nope", "10.0.0.1")).status).toBe(401);
    const limited = await login("carol", testPassword, "10.0.0.2");
    expect(limited.status).toBe(429);
    expect((await json(limited)).code).toBe("rate_limited");
    const retry = Number(limited.headers.get("retry-after"));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(120);
    // Another user is unaffected.
    expect((await login("dave", testPassword, "10.0.0.2")).status).toBe(200);
  });

  it("refuses an IP after too many failures across usernames; other IPs are fine", async () => {
    for (let i = 0; i < 5; i += 1) expect((await login(`ghost${i}`, "nope", "10.9.9.9")).status).toBe(401);
    expect((await login("erin", testPassword, "10.9.9.9")).status).toBe(429);
    expect((await login("erin", testPassword, "10.9.9.10")).status).toBe(200);
  });
});
