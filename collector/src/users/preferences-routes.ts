import { createRoute, z } from "@hono/zod-openapi";
import { AppError, ErrorCode } from "@pcapfleet/core";
import { bodyLimit } from "hono/body-limit";
import { errorResponses, jsonBody, jsonResponse } from "../http/schemas.js";
import { createRouter, type RouteModule, requireUser } from "../http/types.js";
import { densities, isTimeZone, type PreferencesStore, sniffImage, themes } from "./preferences-store.js";

/** Largest accepted avatar, in bytes. */
export const avatarMaxBytes = 256 * 1024;

const preferences = z
  .object({
    theme: z.enum(themes),
    time_zone: z.string(),
    default_location: z.string().nullable(),
    table_density: z.enum(densities),
    has_avatar: z.boolean(),
  })
  .openapi("Preferences");

const changes = z
  .strictObject({
    theme: z.enum(themes).optional(),
    time_zone: z
      .string()
      .refine(isTimeZone, "not an IANA time zone name")
      .optional()
      .openapi({ example: "Europe/Berlin" }),
    default_location: z.string().min(1).max(128).nullable().optional(),
    table_density: z.enum(densities).optional(),
  })
  .openapi("PreferenceChanges");

const getPreferences = createRoute({
  method: "get",
  path: "/preferences",
  tags: ["preferences"],
  summary: "The caller's preferences",
  responses: { 200: jsonResponse(preferences, "Preferences"), ...errorResponses(401) },
});
const putPreferences = createRoute({
  method: "put",
  path: "/preferences",
  tags: ["preferences"],
  summary: "Change the caller's preferences (absent fields stay)",
  request: { body: jsonBody(changes) },
  responses: { 200: jsonResponse(preferences, "Preferences"), ...errorResponses(400, 401) },
});
const binary = z.string().openapi({ type: "string", format: "binary" });
const putAvatar = createRoute({
  method: "put",
  path: "/preferences/avatar",
  tags: ["preferences"],
  summary: "Upload an avatar: PNG or JPEG (checked by content), under 256 KiB",
  middleware: [
    bodyLimit({
      maxSize: avatarMaxBytes,
      onError: () => {
        throw new AppError(ErrorCode.TooLarge, `avatar over ${avatarMaxBytes} bytes`);
      },
    }),
  ] as const,
  request: {
    body: { required: true, content: { "image/png": { schema: binary }, "image/jpeg": { schema: binary } } },
  },
  responses: { 204: { description: "Stored" }, ...errorResponses(400, 401, 413) },
});
const getAvatar = createRoute({
  method: "get",
  path: "/preferences/avatar",
  tags: ["preferences"],
  summary: "The caller's avatar",
  responses: {
    200: {
      description: "The image",
      content: { "image/png": { schema: binary }, "image/jpeg": { schema: binary } },
    },
    ...errorResponses(401, 404),
  },
});

/** Dependencies of {@link createPreferencesRoutes}. */
export interface PreferencesRoutesDeps {
  readonly preferences: PreferencesStore;
}

/** `GET|PUT /preferences`, `GET|PUT /preferences/avatar`, always for the caller. */
export function createPreferencesRoutes(deps: PreferencesRoutesDeps): RouteModule {
  const store = deps.preferences;
  const routes = createRouter()
    .openapi(getPreferences, async (c) => c.json(await store.get(requireUser(c).username), 200))
    .openapi(putPreferences, async (c) => {
      const body = c.req.valid("json");
      const next = await store.update(requireUser(c).username, {
        ...(body.theme === undefined ? {} : { theme: body.theme }),
        ...(body.time_zone === undefined ? {} : { time_zone: body.time_zone }),
        ...(body.default_location === undefined ? {} : { default_location: body.default_location }),
        ...(body.table_density === undefined ? {} : { table_density: body.table_density }),
      });
      return c.json(next, 200);
    })
    .openapi(putAvatar, async (c) => {
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      if (bytes.length === 0) throw new AppError(ErrorCode.InvalidArgument, "avatar: empty body");
      if (bytes.length > avatarMaxBytes)
        throw new AppError(ErrorCode.TooLarge, `avatar over ${avatarMaxBytes} bytes`);
      const contentType = sniffImage(bytes);
      if (contentType === null)
        throw new AppError(ErrorCode.InvalidArgument, "avatar: not a PNG or JPEG image");
      await store.setAvatar(requireUser(c).username, { bytes, contentType });
      return c.body(null, 204);
    })
    .openapi(getAvatar, async (c) => {
      const avatar = await store.getAvatar(requireUser(c).username);
      if (avatar === null) throw new AppError(ErrorCode.NotFound, "no avatar");
      c.header("Content-Type", avatar.contentType);
      c.header("Cache-Control", "private, max-age=60");
      c.header("X-Content-Type-Options", "nosniff");
      return c.body(new Uint8Array(avatar.bytes), 200);
    });
  return { routes };
}
