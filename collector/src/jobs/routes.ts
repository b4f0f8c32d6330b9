/**
 * The job endpoints (DESIGN.md "jobs"): submit, estimate, list, one job, its tasks, its
 * analysis, the merged PCAP and each task's PCAP (streamed, Range, ETag), and cancel. Viewers
 * read jobs and result metadata; analysts submit, download and cancel their own jobs; admins
 * cancel any (the `own-job` rule).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { AppError, ErrorCode, type Logger } from "@pcapfleet/core";
import type { AuditLog } from "../audit/audit-log.js";
import type { PermissionCheck } from "../auth/permissions.js";
import type { Db } from "../db/index.js";
import { fileResponse } from "../http/file-response.js";
import { errorResponses, jsonBody, jsonResponse } from "../http/schemas.js";
import { clientMeta, createRouter, type RouteModule, requireUser } from "../http/types.js";
import type { Kv } from "../kv/index.js";
import type { AgentClients } from "./agent-clients.js";
import type { JobsConfig } from "./config.js";
import { estimateJob } from "./estimate.js";
import { cancelJob, submitJob } from "./job-actions.js";
import {
  estimateSchema,
  jobIdParams,
  jobSchema,
  listJobsQuery,
  pcapResponse,
  taskIdParams,
  taskSchema,
} from "./job-schemas.js";
import { checkJobId, createJobStore, type JobRow } from "./job-store.js";
import { taskFile } from "./result-paths.js";
import { resolveTargets } from "./routing.js";
import { checkFilter, effectiveFilter, jobSpecSchema } from "./spec.js";

const submit = createRoute({
  method: "post",
  path: "/jobs",
  tags: ["jobs"],
  summary:
    "Submit a PCAP job: the packets of a window matching the fields and filter, from the target sensors",
  request: { body: jsonBody(jobSpecSchema) },
  responses: { 201: jsonResponse(jobSchema, "The job as queued"), ...errorResponses(400, 401, 403, 413) },
});

const estimate = createRoute({
  method: "post",
  path: "/jobs/estimate",
  tags: ["jobs"],
  summary: "What each target sensor holds of the window and how much a job would return",
  request: { body: jsonBody(jobSpecSchema) },
  responses: { 200: jsonResponse(estimateSchema, "Per-sensor estimate"), ...errorResponses(400, 401, 403) },
});

const list = createRoute({
  method: "get",
  path: "/jobs",
  tags: ["jobs"],
  summary: "Jobs, newest first (filters: status, owner; limit, before)",
  request: { query: listJobsQuery },
  responses: {
    200: jsonResponse(z.object({ jobs: z.array(jobSchema), next_before: z.string().nullable() }), "Jobs"),
    ...errorResponses(400, 401, 403),
  },
});

const getJob = createRoute({
  method: "get",
  path: "/jobs/{id}",
  tags: ["jobs"],
  summary: "One job with its tasks",
  request: { params: jobIdParams },
  responses: { 200: jsonResponse(jobSchema, "The job"), ...errorResponses(401, 403, 404) },
});

const getTasks = createRoute({
  method: "get",
  path: "/jobs/{id}/tasks",
  tags: ["jobs"],
  summary: "The tasks of a job, one per sensor, with status, error code and message",
  request: { params: jobIdParams },
  responses: {
    200: jsonResponse(z.object({ job_id: z.string(), tasks: z.array(taskSchema) }), "Tasks by sensor"),
    ...errorResponses(401, 403, 404),
  },
});

const getAnalysis = createRoute({
  method: "get",
  path: "/jobs/{id}/analysis",
  tags: ["jobs"],
  summary:
    "Analysis of the merged result: protocols, talkers, conversations, ports, DNS, SNI, HTTP hosts, timeline",
  request: { params: jobIdParams },
  responses: {
    200: jsonResponse(z.record(z.string(), z.unknown()), "The analysis"),
    ...errorResponses(401, 403, 404, 409),
  },
});

const download = createRoute({
  method: "get",
  path: "/jobs/{id}/pcap",
  tags: ["jobs"],
  summary: "The merged PCAP (Range and If-None-Match supported)",
  request: { params: jobIdParams },
  responses: {
    200: pcapResponse("The merged capture"),
    206: pcapResponse("A range of it"),
    ...errorResponses(401, 403, 404, 409),
  },
});

const downloadTask = createRoute({
  method: "get",
  path: "/jobs/{id}/tasks/{task}/pcap",
  tags: ["jobs"],
  summary: "One sensor's slice as it was received (Range and If-None-Match supported)",
  request: { params: taskIdParams },
  responses: {
    200: pcapResponse("The task's capture"),
    206: pcapResponse("A range of it"),
    ...errorResponses(401, 403, 404, 409),
  },
});

const cancel = createRoute({
  method: "delete",
  path: "/jobs/{id}",
  tags: ["jobs"],
  summary: "Cancel a job that has not finished; running sensors stop reading",
  request: { params: jobIdParams },
  responses: { 200: jsonResponse(jobSchema, "The job, cancelled"), ...errorResponses(401, 403, 404, 409) },
});

/** What the job routes need. */
export interface JobRoutesDeps {
  readonly db: Db;
  readonly kv: Kv;
  readonly audit: AuditLog;
  readonly clients: AgentClients;
  readonly config: JobsConfig;
  readonly dataDir: string;
  readonly log: Logger;
  /** Called after a submit, so the local engine starts at once. */
  readonly wake: () => void;
}

const compact = (iso: string): string => iso.replace(/[-:]/g, "").replace(/\.\d+/, "").replace(/Z$/, "Z");

/** `pcapfleet-<id8>-<start>-<end>.<ext>`: names the job and its window. */
export function downloadName(job: JobRow, ext: string, sensor?: string): string {
  const who = sensor === undefined ? "" : `-${sensor.replace(/[^A-Za-z0-9._-]/g, "_")}`;
  return `pcapfleet-${job.id.slice(0, 8)}${who}-${compact(job.start_time.toISOString())}-${compact(job.end_time.toISOString())}.${ext}`;
}

const contentTypes = { pcap: "application/vnd.tcpdump.pcap", pcapng: "application/x-pcapng" } as const;

/** The `own-job` rule: admins, or the job's owner. An unknown job passes (the route 404s). */
export function ownJobRule(db: Db): PermissionCheck {
  const store = createJobStore(db);
  return async (c, user) => {
    if (user.role === "admin") return true;
    try {
      return (await store.row(c.req.param("id") ?? "")).owner === user.username;
    } catch {
      return true;
    }
  };
}

/** The job routes; see the module comment. */
export function createJobRoutes(deps: JobRoutesDeps): RouteModule {
  const store = createJobStore(deps.db);
  const prepare = async (spec: z.output<typeof jobSpecSchema>) => {
    const filter = effectiveFilter(spec);
    const checked = await checkFilter(filter);
    if (!checked)
      deps.log.warn("tcpdump is not installed on the collector: job filters are checked by the agents");
    return { filter, targets: await resolveTargets(deps.db, spec) };
  };
  const routes = createRouter()
    .openapi(submit, async (c) => {
      const user = requireUser(c);
      const actor = { username: user.username, role: user.role, ip: clientMeta(c).ip };
      return c.json(await submitJob(deps, store, actor, c.req.valid("json")), 201);
    })
    .openapi(estimate, async (c) => {
      const spec = c.req.valid("json");
      const { filter, targets } = await prepare(spec);
      return c.json(await estimateJob(deps.db, deps.clients, spec, filter, targets), 200);
    })
    .openapi(list, async (c) => c.json(await store.list(c.req.valid("query")), 200))
    .openapi(getJob, async (c) => c.json(await store.get(c.req.valid("param").id), 200))
    .openapi(getTasks, async (c) => {
      const job = await store.get(c.req.valid("param").id);
      return c.json({ job_id: job.id, tasks: job.tasks }, 200);
    })
    .openapi(getAnalysis, async (c) => {
      const { result } = await store.readyResult(c.req.valid("param").id, false);
      return c.json((result.analysis ?? {}) as Record<string, unknown>, 200);
    })
    .openapi(download, async (c) => {
      const user = requireUser(c);
      const { job, result } = await store.readyResult(c.req.valid("param").id, true);
      if (c.req.header("range") === undefined && c.req.method === "GET") {
        await deps.audit.record({
          actor: user.username,
          action: "job.download",
          target: job.id,
          ip: clientMeta(c).ip,
          details: { sha256: result.sha256, bytes: result.bytes },
        });
      }
      return (await fileResponse(c.req.raw, {
        path: result.path,
        sha256: result.sha256,
        filename: downloadName(job, result.format),
        contentType: contentTypes[result.format],
      })) as never;
    })
    .openapi(downloadTask, async (c) => {
      const params = c.req.valid("param");
      const job = await store.row(params.id);
      const taskId = checkJobId(params.task);
      const task = (await store.tasks(job.id)).find((t) => t.id === taskId);
      if (task === undefined) throw new AppError(ErrorCode.NotFound, `job ${job.id} has no task ${taskId}`);
      if (task.sha256 === null || task.status !== "complete") {
        throw new AppError(
          ErrorCode.Conflict,
          `task ${taskId} (${task.sensor}) is ${task.status}: no capture to download`,
        );
      }
      const result = await store.result(job.id);
      if (result?.expired_at != null) {
        throw new AppError(ErrorCode.NotFound, `the files of job ${job.id} were deleted by retention`);
      }
      return (await fileResponse(c.req.raw, {
        path: taskFile(deps.dataDir, job.id, task.id),
        sha256: task.sha256,
        filename: downloadName(job, "pcap", task.sensor),
        contentType: contentTypes.pcap,
      })) as never;
    })
    .openapi(cancel, async (c) => {
      const user = requireUser(c);
      const actor = { username: user.username, role: user.role, ip: clientMeta(c).ip };
      return c.json(await cancelJob(deps, store, actor, c.req.valid("param").id), 200);
    });
  return {
    routes,
    permissions: [{ method: "GET", path: "/jobs/{id}/tasks/{task}/pcap", access: "analyst" }],
  };
}
