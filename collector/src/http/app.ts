import { getConnInfo } from "@hono/node-server/conninfo";
import { OpenAPIHono } from "@hono/zod-openapi";
import { AppError, ErrorCode, type Logger } from "@pcapfleet/core";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createAuditLog } from "../audit/audit-log.js";
import { createAuditRoutes } from "../audit/routes.js";
import { authorize } from "../auth/middleware.js";
import {
  createPermissionIndex,
  type PermissionCheck,
  type PermissionEntry,
  permissionTable,
  type RuleName,
  toPattern,
} from "../auth/permissions.js";
import { createAuthRoutes } from "../auth/routes.js";
import type { AuthService } from "../auth/service.js";
import type { Db } from "../db/index.js";
import { createUserRoutes } from "../users/admin-routes.js";
import { createPreferencesRoutes } from "../users/preferences-routes.js";
import { createPreferencesStore } from "../users/preferences-store.js";
import { type ApiDocument, renderApiReference } from "./docs-page.js";
import { createErrorHandler, notFoundHandler, validationHook } from "./errors.js";
import { clientAddress, type LatencyHook, requestContext } from "./request-context.js";
import type { AppEnv, RouteModule } from "./types.js";

/** Where every route module is mounted. */
export const apiBase = "/api/v1";

/** Default request body limit: 1 MiB. */
export const defaultBodyLimitBytes = 1024 * 1024;

/** Dependencies of {@link createApp}. */
export interface AppDeps {
  readonly log: Logger;
  readonly db: Db;
  readonly auth: AuthService;
  /** Further route modules (sensors, jobs, network...), mounted under `/api/v1`. */
  readonly modules?: readonly RouteModule[];
  /** Checks of special permission rules (e.g. `own-job`), supplied by the modules owning them. */
  readonly rules?: Partial<Record<RuleName, PermissionCheck>>;
  /** Called once per finished request with its latency (the metrics module plugs in here). */
  readonly onRequestTimed?: LatencyHook;
  readonly bodyLimitBytes?: number;
  /**
   * Registers routes outside `/api/v1` (metrics, the realtime socket's upgrade, dashboard files)
   * after the middleware and before the permission check, so they need table entries too.
   */
  readonly mount?: (app: OpenAPIHono<AppEnv>) => void;
  /** Version shown in the OpenAPI document. */
  readonly version?: string;
}

/** The socket's peer address under @hono/node-server; undefined under `app.request()`. */
function socketAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

/** Table entries plus module entries (paths relative to `/api/v1`); identical repeats are fine. */
function mergeEntries(modules: readonly RouteModule[]): PermissionEntry[] {
  const merged = new Map(permissionTable.map((entry) => [`${entry.method} ${entry.path}`, entry]));
  for (const module of modules) {
    for (const entry of module.permissions ?? []) {
      const absolute = { ...entry, path: `${apiBase}${entry.path}` };
      const key = `${absolute.method} ${absolute.path}`;
      const known = merged.get(key);
      if (known !== undefined && (known.access !== absolute.access || known.rule !== absolute.rule)) {
        throw new AppError(ErrorCode.Internal, `permission for ${key} declared twice, differently`);
      }
      merged.set(key, absolute);
    }
  }
  return [...merged.values()];
}

/**
 * Builds the collector's HTTP app: request ids and child loggers, body limit, the permission
 * middleware, every route module under `/api/v1`, the OpenAPI document and reference page, and
 * one error handler. Throws when a registered route has no permission entry, or uses a special
 * rule whose check is missing.
 */
export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const audit = createAuditLog(deps.db);
  const modules: RouteModule[] = [
    createAuthRoutes({ auth: deps.auth }),
    createUserRoutes({ auth: deps.auth, audit }),
    createPreferencesRoutes({ preferences: createPreferencesStore(deps.db) }),
    createAuditRoutes({ audit }),
    ...(deps.modules ?? []),
  ];
  const permissions = createPermissionIndex(mergeEntries(modules));
  const rules = deps.rules ?? {};
  const limit = deps.bodyLimitBytes ?? defaultBodyLimitBytes;

  app.use(requestContext({ log: deps.log, onRequestTimed: deps.onRequestTimed }));
  app.use(clientAddress({ trustProxy: deps.auth.config.trustProxy, socketAddress }));
  app.use(
    bodyLimit({
      maxSize: limit,
      onError: () => {
        throw new AppError(ErrorCode.TooLarge, `request body over ${limit} bytes`);
      },
    }),
  );
  app.use(authorize({ auth: deps.auth, permissions, rules }));
  for (const module of modules) app.route(apiBase, module.routes);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  let document: ApiDocument | undefined;
  const spec = (): ApiDocument => {
    document ??= describe(app, permissions.find, deps.version ?? "0.1.0");
    return document;
  };
  app.get(`${apiBase}/openapi.json`, (c) => c.json(spec()));
  app.get("/api/docs", (c) => c.html(renderApiReference(spec())));

  deps.mount?.(app);
  app.onError(createErrorHandler(deps.log));
  app.notFound(notFoundHandler);
  checkRoutes(app, permissions.forRoute, rules);
  return app;
}

/** The OpenAPI 3.1 document, with each operation's required role and bearer security. */
function describe(
  app: OpenAPIHono<AppEnv>,
  find: (method: string, path: string) => PermissionEntry | undefined,
  version: string,
): ApiDocument {
  const doc = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "pcapfleet collector",
      version,
      description:
        "Errors are {code, message}. Send `Authorization: Bearer <access_token>` from POST /login.",
    },
  }) as unknown as ApiDocument;
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item ?? {})) {
      const entry = find(method.toUpperCase(), path);
      if (entry === undefined || entry.access === "public") continue;
      op.security = [{ bearerAuth: [] }];
      op["x-required-role"] = entry.rule === undefined ? entry.access : `${entry.access} (${entry.rule})`;
    }
  }
  return doc;
}

/** Refuses to build an app with a route the permission table does not cover. */
function checkRoutes(
  app: OpenAPIHono<AppEnv>,
  forRoute: (method: string, pattern: string) => PermissionEntry | undefined,
  rules: Partial<Record<RuleName, PermissionCheck>>,
): void {
  const problems: string[] = [];
  for (const route of app.routes) {
    // `ALL` routes are the middleware registered with `use`; handlers always name a method.
    if (route.method === "ALL") continue;
    const pattern = toPattern(route.path);
    const entry = forRoute(route.method, pattern);
    if (entry === undefined) problems.push(`${route.method} ${pattern} has no permission entry`);
    else if (entry.rule !== undefined && rules[entry.rule] === undefined) {
      problems.push(`${route.method} ${pattern} needs the check of rule ${entry.rule}`);
    }
  }
  if (problems.length > 0) {
    throw new AppError(ErrorCode.Internal, `http: unsafe routes: ${[...new Set(problems)].join("; ")}`);
  }
}
