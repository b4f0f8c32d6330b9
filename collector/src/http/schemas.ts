import { z } from "@hono/zod-openapi";
import { ErrorCode } from "@pcapfleet/core";

/** The error body of every failure: `{code, message}` (DESIGN.md). */
export const errorSchema = z
  .object({
    code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi("Error");

const descriptions: Readonly<Record<number, string>> = {
  400: "Bad input",
  401: "No token, or a token that does not verify",
  403: "The role does not allow this",
  404: "Not found",
  409: "Conflict with the current state",
  413: "Body too large",
  429: "Too many requests",
};

/** OpenAPI response entries for the given error statuses. */
export function errorResponses(
  ...statuses: number[]
): Record<number, { description: string; content: object }> {
  const out: Record<number, { description: string; content: object }> = {};
  for (const status of statuses) {
    out[status] = {
      description: descriptions[status] ?? "Error",
      content: { "application/json": { schema: errorSchema } },
    };
  }
  return out;
}

/** A JSON request body that must be present. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { "application/json": { schema } } } as const;
}

/** A JSON response. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } } as const;
}
