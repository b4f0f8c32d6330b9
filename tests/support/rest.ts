/**
 * The collector's REST API as the end-to-end tests call it: one request with a bearer token and
 * its JSON body, and waiting for a job to finish.
 */
import { until } from "./wait.js";

/** A response: its status and its JSON body (an empty body is `{}`). */
export interface RestResponse {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** `path` (under /api/v1) of the collector at `baseUrl`, as the holder of `token`. */
export async function restCall(
  baseUrl: string,
  token: string,
  path: string,
  init: RequestInit = {},
): Promise<RestResponse> {
  const response = await fetch(`${baseUrl}/api/v1${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      ...(init.headers ?? {}),
    },
  });
  const text = await response.text();
  return {
    status: response.status,
    body: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown>,
  };
}

/** Job statuses after which nothing changes. */
const FINISHED = ["complete", "partial", "failed", "cancelled"];

/** Polls job `id` through `api` until it has finished; resolves to the job. */
export function finishedJob<J extends { status: string }>(
  api: (path: string) => Promise<RestResponse>,
  id: string,
): Promise<J> {
  return until(`job ${id} to finish`, async () => {
    const job = (await api(`/jobs/${id}`)).body as unknown as J;
    return FINISHED.includes(job.status) ? job : undefined;
  });
}
