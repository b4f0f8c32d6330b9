import { tmpdir } from "node:os";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { AppError } from "@pcapfleet/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuditLog } from "../audit/audit-log.js";
import { permissionTable, toPattern } from "../auth/permissions.js";
import { dbBackends, silentLogger } from "../db/testing.js";
import { jobsConfigSchema } from "../jobs/config.js";
import { createAgentClients, createJobRoutes, ownJobRule } from "../jobs/index.js";
import { migrateJobs } from "../jobs/testing.js";
import { kvBackends } from "../kv/testing.js";
import { createLogRing } from "../logs/log-ring.js";
import {
  createLookupCache,
  createNetworkRoutes,
  type LocationLookup,
  networkPermissions,
} from "../network/index.js";
import { migrateNetwork } from "../network/testing.js";
import { createCollectorRoutes } from "../routes/index.js";
import { migrateCore } from "../sensors/testing.js";
import { hasRole, type Role, roles } from "../users/types.js";
import { createApp } from "./app.js";
import type { RequestTiming } from "./request-context.js";
import { createHarness, type Harness, json } from "./testing.js";
import { type AppEnv, createRouter, type RouteModule } from "./types.js";

const combos = dbBackends().flatMap((db) =>
  kvBackends().map((kv) => ({ name: `${db.name}+${kv.name}`, db, kv })),
);

/** A module with one route, for plug-in and build-time checks. */
function pingModule(path: string, withEntry: boolean, rule = false): RouteModule {
  const route = createRoute({
    method: "get",
    path,
    tags: ["test"],
    responses: {
      200: { description: "ok", content: { "application/json": { schema: z.object({ ok: z.boolean() }) } } },
    },
  });
  const routes = createRouter().openapi(route, (c) => c.json({ ok: true }, 200));
  if (!withEntry) return { routes };
  return {
    routes,
    permissions: [{ method: "GET", path, access: "analyst", ...(rule ? { rule: "own-job" as const } : {}) }],
  };
}

/** Paths (relative to `/api/v1`) of the route modules mounted beside the built-in ones. */
const mountedModulePaths = [
  "GET /sensors",
  "GET /sensors/{name}/status",
  "GET /sensors/{name}/devices",
  "GET /sensors/activity",
  "GET /locations",
  "GET /health",
  "GET /health/summary",
  "GET /admin/system/status",
  "GET /admin/storage",
  "GET /admin/logs",
  "GET /jobs",
  "POST /jobs",
  "POST /jobs/estimate",
  "GET /jobs/{id}",
  "GET /jobs/{id}/tasks",
  "GET /jobs/{id}/analysis",
  "GET /jobs/{id}/pcap",
  "GET /jobs/{id}/tasks/{task}/pcap",
  "DELETE /jobs/{id}",
  "GET /network/locations",
  "GET /network/traffic",
  "GET /network/subnets",
  "GET /network/lookup",
  "GET /network/analytics/top-subnets",
  "GET /network/analytics/traffic-over-time",
  "POST /network/locations",
  "PATCH /network/locations/{name}",
  "DELETE /network/locations/{name}",
  "POST /network/subnets",
  "DELETE /network/subnets",
  "POST /network/locations/clear-cache",
];

describe.each(combos)("http app on $name", ({ db, kv }) => {
  let h: Harness;
  /** The app with every route module mounted (the harness's own app has only the built-in ones). */
  let app: OpenAPIHono<AppEnv>;
  const timings: RequestTiming[] = [];
  const clients = createAgentClients();
  let lookup: LocationLookup;
  beforeAll(async () => {
    h = await createHarness(db, kv);
    // The sensor and system modules read the tables of migration 001.
    await migrateCore(h.scratch.db);
    await migrateJobs(h.scratch.db);
    await migrateNetwork(h.scratch.db);
    lookup = await createLookupCache({
      db: h.scratch.db,
      kv: h.kvScratch.kv,
      log: silentLogger(),
      ttlMs: 60_000,
      maxEntries: 1000,
    });
    for (const role of roles) await h.addUser(`${role}-user`, role);
    app = createApp({
      log: silentLogger(),
      db: h.scratch.db,
      auth: h.auth,
      onRequestTimed: (t) => timings.push(t),
      modules: [
        pingModule("/ping", true),
        ...createCollectorRoutes({
          db: h.scratch.db,
          kv: h.kvScratch.kv,
          logs: createLogRing(),
          dataDir: tmpdir(),
          version: "0.0.0-test",
          startedAt: new Date(),
        }),
        createJobRoutes({
          db: h.scratch.db,
          kv: h.kvScratch.kv,
          audit: createAuditLog(h.scratch.db),
          clients,
          config: jobsConfigSchema.parse({}),
          dataDir: tmpdir(),
          log: silentLogger(),
          wake: () => undefined,
        }),
        createNetworkRoutes({ db: h.scratch.db, lookup, audit: createAuditLog(h.scratch.db) }),
      ],
      rules: { "own-job": ownJobRule(h.scratch.db) },
    });
  });
  afterAll(async () => {
    clients.close();
    await lookup?.close();
    await h.close();
  });

  /** Like `h.call`, on {@link app}. */
  const call = (
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`;
    if (options.body !== undefined) headers["content-type"] ??= "application/json";
    const body = options.body === undefined ? {} : { body: JSON.stringify(options.body) };
    return Promise.resolve(app.request(path, { method, headers, ...body }));
  };

  it("walks every route x {no token, viewer, analyst, admin} against the permission table", async () => {
    const routes = app.routes.filter((route) => route.method !== "ALL");
    const patterns = routes.map((route) => `${route.method} ${toPattern(route.path)}`);
    for (const path of mountedModulePaths) {
      expect(patterns, path).toContain(path.replace(" /", " /api/v1/"));
    }
    expect(routes.length).toBeGreaterThanOrEqual(12);
    const checked: string[] = [];
    for (const route of routes) {
      const pattern = toPattern(route.path);
      const entry =
        permissionTable.find((e) => e.method === route.method && e.path === pattern) ??
        // Entries the network module declares itself (paths relative to /api/v1).
        networkPermissions.find((e) => e.method === route.method && `/api/v1${e.path}` === pattern) ??
        (pattern === "/api/v1/ping" || pattern === "/api/v1/jobs/{id}/tasks/{task}/pcap"
          ? { access: "analyst" as const }
          : undefined);
      expect(entry, `${route.method} ${pattern}`).toBeDefined();
      const path = pattern.replace(/\{[^}]+\}/g, "matrix-nobody");
      for (const who of ["none", ...roles] as const) {
        // A fresh session per request: some routes (logout) end the session they are called with.
        const token = who === "none" ? undefined : (await h.tokens(`${who}-user`)).access_token;
        const body = ["POST", "PUT", "PATCH"].includes(route.method) ? {} : undefined;
        const res = await call(route.method, path, { ...(token === undefined ? {} : { token }), body });
        const label = `${route.method} ${pattern} as ${who}: ${res.status}`;
        const access = entry?.access ?? "admin";
        if (access === "public") expect([401, 403], label).not.toContain(res.status);
        else if (who === "none") expect(res.status, label).toBe(401);
        else if (!hasRole(who as Role, access)) expect(res.status, label).toBe(403);
        else expect([401, 403], label).not.toContain(res.status);
        expect(res.status, label).toBeLessThan(500);
        if (res.status !== 204) expect(res.headers.get("content-type") ?? "", label).not.toBe("");
        checked.push(label);
      }
    }
    expect(checked.length).toBe(routes.length * 4);
  });

  it("serves the OpenAPI document with roles and a self-contained reference page", async () => {
    const res = await call("GET", "/api/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = await json<{
      openapi: string;
      paths: Record<string, Record<string, { security?: unknown; "x-required-role"?: string }>>;
      components: { securitySchemes: Record<string, { scheme: string }> };
    }>(res);
    expect(doc.openapi).toBe("3.1.0");
    for (const path of [
      "/api/v1/login",
      "/api/v1/admin/users/{name}",
      "/api/v1/preferences/avatar",
      "/api/v1/ping",
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(doc.paths["/api/v1/admin/users"]?.["get"]?.["x-required-role"]).toBe("admin");
    expect(doc.paths["/api/v1/admin/users"]?.["get"]?.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths["/api/v1/login"]?.["post"]?.security).toBeUndefined();
    expect(doc.components.securitySchemes["bearerAuth"]?.scheme).toBe("bearer");
    const page = await call("GET", "/api/docs");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("/api/v1/admin/users/{name}");
    expect(html).toContain("LoginRequest");
    expect(html).not.toMatch(/<script|<link|src="http|href="http/);
  });

  it("answers unknown routes with a JSON 404, sets request ids and reports latency", async () => {
    timings.length = 0;
    const res = await call("GET", "/api/v1/no/such/route", { headers: { "x-request-id": "req-123" } });
    expect(res.status).toBe(404);
    expect(await json(res)).toMatchObject({ code: "not_found" });
    expect(res.headers.get("x-request-id")).toBe("req-123");
    const bad = await call("GET", "/api/v1/health", { headers: { "x-request-id": "bad id; with spaces" } });
    expect(bad.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const admin = await h.tokens("admin-user");
    await call("GET", "/api/v1/admin/users", { token: admin.access_token });
    expect(timings.map((t) => [t.method, t.route, t.status])).toContainEqual([
      "GET",
      "/api/v1/admin/users",
      200,
    ]);
    expect(timings.map((t) => t.route)).toContain("unmatched");
    expect(timings.every((t) => t.durationMs >= 0)).toBe(true);
  });

  it("refuses to build with a route lacking a permission entry or a rule check", async () => {
    const deps = { log: silentLogger(), db: h.scratch.db, auth: h.auth };
    expect(() => createApp({ ...deps, modules: [pingModule("/unlisted", false)] })).toThrow(AppError);
    expect(() => createApp({ ...deps, modules: [pingModule("/unlisted", false)] })).toThrow(
      /GET \/api\/v1\/unlisted/,
    );
    expect(() => createApp({ ...deps, modules: [pingModule("/ruled", true, true)] })).toThrow(/rule own-job/);
    expect(() =>
      createApp({ ...deps, modules: [pingModule("/ruled", true, true)], rules: { "own-job": () => true } }),
    ).not.toThrow();
  });

  it("applies a special rule's check after the role", async () => {
    let allow = false;
    const app = createApp({
      log: silentLogger(),
      db: h.scratch.db,
      auth: h.auth,
      modules: [pingModule("/owned", true, true)],
      rules: { "own-job": (_c, user) => allow || user.role === "admin" },
    });
    const get = async (who: string) =>
      (
        await app.request("/api/v1/owned", {
          headers: { authorization: `Bearer ${(await h.tokens(who)).access_token}` },
        })
      ).status;
    expect(await get("viewer-user")).toBe(403);
    expect(await get("analyst-user")).toBe(403);
    expect(await get("admin-user")).toBe(200);
    allow = true;
    expect(await get("analyst-user")).toBe(200);
  });
});
