/**
 * The collector's HTTP layer: `createApp`, the route-module contract for features that plug in,
 * and the helpers they share (router with the validation hook, error schemas, caller access).
 */
export { type AppDeps, apiBase, createApp, defaultBodyLimitBytes } from "./app.js";
export { createErrorHandler, describeZodError, notFoundHandler, validationHook } from "./errors.js";
export type { LatencyHook, RequestTiming } from "./request-context.js";
export { errorResponses, errorSchema, jsonBody, jsonResponse } from "./schemas.js";
export {
  type AppEnv,
  type AppVariables,
  clientMeta,
  createRouter,
  type RouteModule,
  requireUser,
} from "./types.js";
