import { createRoute, z } from "@hono/zod-openapi";
import { AppError, ErrorCode } from "@pcapfleet/core";
import type { Context } from "hono";
import type { AuditLog } from "../audit/audit-log.js";
import type { AuthService } from "../auth/service.js";
import { errorResponses, jsonBody, jsonResponse } from "../http/schemas.js";
import { type AppEnv, createRouter, type RouteModule, requireUser } from "../http/types.js";
import { roles, type User, usernamePattern } from "./types.js";
import type { UserChanges } from "./user-store.js";

const username = z
  .string()
  .regex(usernamePattern, "1-64 letters, digits or ._@- starting with a letter or digit");
const password = z.string().min(8, "must be at least 8 characters").max(1024);

const userSchema = z
  .object({
    username: z.string(),
    role: z.enum(roles),
    source: z.enum(["local", "ldap"]),
    disabled: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
    last_login_at: z.string().nullable(),
  })
  .openapi("User");

const createBody = z.strictObject({ username, password, role: z.enum(roles) }).openapi("NewUser");
const patchBody = z
  .strictObject({
    role: z.enum(roles).optional(),
    password: password.optional(),
    disabled: z.boolean().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, "give at least one of role, password, disabled")
  .openapi("UserChanges");
const nameParam = z.object({ name: username.openapi({ param: { name: "name", in: "path" } }) });

const listUsers = createRoute({
  method: "get",
  path: "/admin/users",
  tags: ["admin"],
  summary: "List users",
  responses: {
    200: jsonResponse(z.object({ users: z.array(userSchema) }), "Users"),
    ...errorResponses(401, 403),
  },
});
const addUser = createRoute({
  method: "post",
  path: "/admin/users",
  tags: ["admin"],
  summary: "Add a local user",
  request: { body: jsonBody(createBody) },
  responses: { 201: jsonResponse(userSchema, "Created"), ...errorResponses(400, 401, 403, 409) },
});
const patchUser = createRoute({
  method: "patch",
  path: "/admin/users/{name}",
  tags: ["admin"],
  summary: "Change role, reset password, disable or enable (revokes the user's sessions)",
  request: { params: nameParam, body: jsonBody(patchBody) },
  responses: { 200: jsonResponse(userSchema, "Updated"), ...errorResponses(400, 401, 403, 404, 409) },
});
const deleteUser = createRoute({
  method: "delete",
  path: "/admin/users/{name}",
  tags: ["admin"],
  summary: "Delete a user (not yourself, not the last admin)",
  request: { params: nameParam },
  responses: { 204: { description: "Deleted" }, ...errorResponses(400, 401, 403, 404, 409) },
});

function render(user: User): z.infer<typeof userSchema> {
  return {
    username: user.username,
    role: user.role,
    source: user.source,
    disabled: user.disabled,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
    last_login_at: user.lastLoginAt?.toISOString() ?? null,
  };
}

/** Dependencies of {@link createUserRoutes}. */
export interface UserRoutesDeps {
  readonly auth: AuthService;
  readonly audit: AuditLog;
}

/** `GET|POST /admin/users`, `PATCH|DELETE /admin/users/{name}`; every change is audited. */
export function createUserRoutes(deps: UserRoutesDeps): RouteModule {
  const { auth, audit } = deps;
  const users = auth.users;
  const record = (c: Context<AppEnv>, action: string, target: string, details: Record<string, unknown>) =>
    audit.record({ actor: requireUser(c).username, action, target, details, ip: c.get("clientIp") });

  const routes = createRouter()
    .openapi(listUsers, async (c) => c.json({ users: (await users.list()).map(render) }, 200))
    .openapi(addUser, async (c) => {
      const body = c.req.valid("json");
      const created = await users.create({
        username: body.username,
        passwordHash: await auth.hashPassword(body.password),
        role: body.role,
        source: "local",
      });
      await record(c, "user.create", created.username, { role: created.role });
      return c.json(render(created), 201);
    })
    .openapi(patchUser, async (c) => {
      const { name } = c.req.valid("param");
      const body = c.req.valid("json");
      const existing = await users.find(name);
      if (existing === null) throw new AppError(ErrorCode.NotFound, `no user named ${name}`);
      if (body.password !== undefined && existing.source !== "local") {
        throw new AppError(ErrorCode.Conflict, `${name} is a directory user; change the password there`);
      }
      const changes: UserChanges = {
        ...(body.role === undefined ? {} : { role: body.role }),
        ...(body.disabled === undefined ? {} : { disabled: body.disabled }),
        ...(body.password === undefined ? {} : { passwordHash: await auth.hashPassword(body.password) }),
      };
      const { before, after } = await users.update(name, changes);
      // A new role, a new password or a disabled account: old tokens must stop working now.
      if (before.role !== after.role || body.password !== undefined || after.disabled) {
        await auth.revokeUserSessions(after.id, "account changed by admin");
      }
      const details: Record<string, unknown> = {};
      if (before.role !== after.role) details["role"] = { from: before.role, to: after.role };
      if (before.disabled !== after.disabled) details["disabled"] = after.disabled;
      if (body.password !== undefined) details["password_reset"] = true;
      await record(c, "user.update", name, details);
      return c.json(render(after), 200);
    })
    .openapi(deleteUser, async (c) => {
      const { name } = c.req.valid("param");
      if (name === requireUser(c).username) throw new AppError(ErrorCode.Conflict, "cannot delete yourself");
      const removed = await users.remove(name);
      // The session rows went with the user; their access tokens must stop working too.
      await auth.revokeSessions(removed.liveSessionIds);
      await record(c, "user.delete", name, { role: removed.user.role });
      return c.body(null, 204);
    });
  return { routes };
}
