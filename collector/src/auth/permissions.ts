import { AppError, ErrorCode } from "@pcapfleet/core";
import type { Context } from "hono";
import type { AppEnv } from "../http/types.js";
import type { Role } from "../users/types.js";
import type { AuthUser } from "./service.js";

/**
 * The one permission table: every HTTP route (method + path pattern) and who may call it.
 * `public` needs no token; a role means that role or a higher one (viewer < analyst < admin).
 * The app refuses to build when a registered route has no entry here (or in the entries of the
 * module that registered it), so nothing is open by accident.
 */

/** Who may call a route. */
export type Access = "public" | Role;

/** HTTP methods the table knows. */
export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * A special rule beyond the role, decided per request (the request's params are available
 * through `c.req.param()`). Resolve to false to answer 403.
 */
export type PermissionCheck = (c: Context<AppEnv>, user: AuthUser) => boolean | Promise<boolean>;

/** Names of the special rules; their checks are supplied to `createApp` by the owning module. */
export type RuleName = "own-job";

/** One row of the table. */
export interface PermissionEntry {
  readonly method: Method;
  /** Path pattern with `{param}` segments, absolute (`/api/v1/...`) in the table. */
  readonly path: string;
  readonly access: Access;
  /** A special rule that must also pass; its check is looked up by name. */
  readonly rule?: RuleName;
}

const api = (path: string): string => `/api/v1${path}`;

function entries(access: Access, method: Method, paths: readonly string[]): PermissionEntry[] {
  return paths.map((path) => ({ method, path: path.startsWith("/api/") ? path : api(path), access }));
}

/**
 * The table for every route of DESIGN.md. Routes of modules not built yet are listed already,
 * so the roles of the whole API can be reviewed in one place.
 */
export const permissionTable: readonly PermissionEntry[] = [
  // Anyone: logging in, the health probe, and the API description.
  ...entries("public", "POST", ["/login", "/refresh"]),
  ...entries("public", "GET", ["/health", "/openapi.json", "/api/docs"]),
  // The realtime socket checks its token itself (browsers cannot send an Authorization header
  // on a WebSocket; see realtime/ws-route.ts), so the table lets it through to that check.
  ...entries("public", "GET", ["/ws"]),
  // Outside the API: Prometheus scrapes without a token (bind the collector to a private
  // address or filter /metrics at the proxy), and the dashboard's static files.
  { method: "GET", path: "/metrics", access: "public" },
  { method: "GET", path: "/", access: "public" },
  { method: "GET", path: "/assets/{file}", access: "public" },
  // Viewer: read sensors, jobs and result metadata; own session and preferences.
  ...entries("viewer", "POST", ["/logout"]),
  ...entries("viewer", "GET", [
    "/preferences",
    "/preferences/avatar",
    "/sensors",
    "/sensors/activity",
    "/sensors/{name}/status",
    "/sensors/{name}/devices",
    "/locations",
    "/jobs",
    "/jobs/{id}",
    "/jobs/{id}/tasks",
    "/jobs/{id}/analysis",
    "/network/traffic",
    "/network/subnets",
    "/network/locations",
    "/health/summary",
  ]),
  ...entries("viewer", "PUT", ["/preferences", "/preferences/avatar"]),
  // Analyst: submit jobs, download PCAP, cancel own jobs.
  ...entries("analyst", "POST", ["/jobs", "/jobs/estimate"]),
  ...entries("analyst", "GET", ["/jobs/{id}/pcap"]),
  { method: "DELETE", path: api("/jobs/{id}"), access: "analyst", rule: "own-job" },
  // Admin: users, audit, system, storage, logs, cache control.
  ...entries("admin", "GET", [
    "/admin/users",
    "/admin/audit",
    "/admin/system/status",
    "/admin/storage",
    "/admin/logs",
  ]),
  ...entries("admin", "POST", ["/admin/users", "/network/locations/clear-cache"]),
  ...entries("admin", "PATCH", ["/admin/users/{name}"]),
  ...entries("admin", "DELETE", ["/admin/users/{name}"]),
];

/** A table entry compiled for matching request paths. */
interface CompiledEntry extends PermissionEntry {
  readonly pattern: RegExp;
}

/** Turns `/a/{id}/b` into a regex matching one non-empty segment per parameter. */
function compile(path: string): RegExp {
  const parts = path.split(/\{[^}/]+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join("[^/]+")}/?$`);
}

/** `/a/:id` (Hono) to `/a/{id}` (table and OpenAPI). */
export function toPattern(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}");
}

/** Looks up the entry of a request, and checks that registered routes all have one. */
export interface PermissionIndex {
  /** The entry for `method` and the request path; undefined when there is none. */
  find(method: string, path: string): PermissionEntry | undefined;
  /** The entry declared for a registered route (exact pattern). */
  forRoute(method: string, pattern: string): PermissionEntry | undefined;
  readonly entries: readonly PermissionEntry[];
}

/** Builds a {@link PermissionIndex}; duplicate (method, path) entries are a bug. */
export function createPermissionIndex(list: readonly PermissionEntry[]): PermissionIndex {
  const compiled: CompiledEntry[] = [];
  const seen = new Set<string>();
  for (const entry of list) {
    const key = `${entry.method} ${entry.path}`;
    if (seen.has(key)) throw new AppError(ErrorCode.Internal, `permission table: duplicate entry ${key}`);
    seen.add(key);
    compiled.push({ ...entry, pattern: compile(entry.path) });
  }
  // Literal segments beat parameters (`/sensors/activity` before `/sensors/{name}`).
  compiled.sort((a, b) => b.path.replace(/\{[^}]+\}/g, "").length - a.path.replace(/\{[^}]+\}/g, "").length);
  return {
    entries: compiled,
    find(method, path) {
      const verb = method === "HEAD" ? "GET" : method;
      return compiled.find((entry) => entry.method === verb && entry.pattern.test(path));
    },
    forRoute(method, pattern) {
      return compiled.find((entry) => entry.method === method && entry.path === pattern);
    },
  };
}
