import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses, jsonBody, jsonResponse } from "../http/schemas.js";
import { clientMeta, createRouter, type RouteModule, requireUser } from "../http/types.js";
import { roles } from "../users/types.js";
import type { AuthService } from "./service.js";

const loginBody = z
  .strictObject({
    username: z.string().min(1).max(128),
    password: z.string().min(1).max(1024),
  })
  .openapi("LoginRequest");

const refreshBody = z.strictObject({ refresh_token: z.string().min(1).max(4096) }).openapi("RefreshRequest");

const tokenPair = z
  .object({
    access_token: z.string(),
    refresh_token: z.string(),
    expires_in: z.number().int().openapi({ description: "Seconds until the access token expires" }),
    user: z.object({ username: z.string(), role: z.enum(roles) }),
  })
  .openapi("TokenPair");

const login = createRoute({
  method: "post",
  path: "/login",
  tags: ["auth"],
  summary: "Log in with username and password",
  request: { body: jsonBody(loginBody) },
  responses: { 200: jsonResponse(tokenPair, "Tokens"), ...errorResponses(400, 401, 429) },
});

const refresh = createRoute({
  method: "post",
  path: "/refresh",
  tags: ["auth"],
  summary: "Exchange a refresh token for new tokens (each refresh token works once)",
  request: { body: jsonBody(refreshBody) },
  responses: { 200: jsonResponse(tokenPair, "Tokens"), ...errorResponses(400, 401) },
});

const logout = createRoute({
  method: "post",
  path: "/logout",
  tags: ["auth"],
  summary: "Revoke the caller's session at once",
  responses: { 204: { description: "Logged out" }, ...errorResponses(401) },
});

/** Dependencies of {@link createAuthRoutes}. */
export interface AuthRoutesDeps {
  readonly auth: AuthService;
}

/** `POST /login`, `POST /refresh`, `POST /logout`. */
export function createAuthRoutes(deps: AuthRoutesDeps): RouteModule {
  const routes = createRouter()
    .openapi(login, async (c) => {
      const { username, password } = c.req.valid("json");
      return c.json(await deps.auth.login(username, password, clientMeta(c)), 200);
    })
    .openapi(refresh, async (c) => {
      const { refresh_token } = c.req.valid("json");
      return c.json(await deps.auth.refresh(refresh_token, clientMeta(c)), 200);
    })
    .openapi(logout, async (c) => {
      const user = requireUser(c);
      await deps.auth.logout(user.sessionId);
      return c.body(null, 204);
    });
  return { routes };
}
