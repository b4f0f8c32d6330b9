/**
 * The collector's gRPC JobService (DESIGN.md "gRPC"): the automation face of the job endpoints.
 * Each method needs the role its HTTP twin needs (viewer reads; analyst submits, downloads and
 * cancels own jobs; admin cancels any), validates like it (the same zod body schema) and fails
 * with the same AppErrors, which the adapter maps to gRPC statuses: unauthenticated,
 * permission_denied, invalid_argument, not_found, already_exists (conflict).
 */
import { AppError, ErrorCode } from "@pcapfleet/core";
import {
  bindService,
  JobService,
  JobStatusSchema,
  type ServiceBinding,
  type ServiceImpl,
} from "@pcapfleet/proto";
import type { AuthService } from "../../auth/service.js";
import { describeZodError } from "../../http/errors.js";
import { cancelJob, type JobActionDeps, submitJob } from "../job-actions.js";
import { checkJobId, createJobStore } from "../job-store.js";
import { jobSpecSchema } from "../spec.js";
import { type JobStatus, terminalJobStates } from "../types.js";
import { createCallAuthorizer } from "./call-auth.js";
import { downloadResult } from "./download.js";
import { enumWord, jobToProto, specBodyFromProto } from "./job-proto.js";
import { listSensors } from "./sensors.js";
import { type WatchOptions, watchJob } from "./watch.js";

/** What the JobService needs: the job routes' dependencies and the auth service. */
export interface JobServiceDeps extends JobActionDeps {
  readonly auth: Pick<AuthService, "authenticate">;
  /** Pacing of WatchJob; defaults suit production. */
  readonly watch?: Partial<WatchOptions>;
}

const jobStates: readonly string[] = ["queued", "running", ...terminalJobStates];

/** The typed implementation of `pcapfleet.v1.JobService`. */
export function createJobRpc(deps: JobServiceDeps): ServiceImpl<typeof JobService> {
  const store = createJobStore(deps.db);
  const authorize = createCallAuthorizer(deps.auth);
  return {
    async submitJob(request, context) {
      const actor = await authorize(context, "analyst");
      const parsed = jobSpecSchema.safeParse(specBodyFromProto(request.spec));
      if (!parsed.success) {
        const { message, field } = describeZodError(parsed.error, "spec");
        throw new AppError(ErrorCode.InvalidArgument, message, { details: { field } });
      }
      return { job: jobToProto(await submitJob(deps, store, actor, parsed.data)) };
    },
    async getJob(request, context) {
      await authorize(context, "viewer");
      return { job: jobToProto(await store.get(request.jobId)) };
    },
    async listJobs(request, context) {
      await authorize(context, "viewer");
      if (request.limit > 500) throw new AppError(ErrorCode.InvalidArgument, "limit: at most 500");
      if (request.owner.length > 128)
        throw new AppError(ErrorCode.InvalidArgument, "owner: at most 128 characters");
      const status = request.status === 0 ? undefined : enumWord(JobStatusSchema, request.status);
      if (status !== undefined && !jobStates.includes(status)) {
        throw new AppError(ErrorCode.InvalidArgument, `status: unknown value ${request.status}`);
      }
      let before: string | undefined;
      if (request.before !== "") {
        try {
          before = checkJobId(request.before);
        } catch {
          throw new AppError(ErrorCode.InvalidArgument, "before: not a job id (pass next_before)");
        }
      }
      const page = await store.list({
        limit: request.limit === 0 ? 50 : request.limit,
        status: status as JobStatus | undefined,
        owner: request.owner === "" ? undefined : request.owner,
        before,
      });
      return { jobs: page.jobs.map(jobToProto), nextBefore: page.next_before ?? "" };
    },
    async cancelJob(request, context) {
      const actor = await authorize(context, "analyst");
      return { job: jobToProto(await cancelJob(deps, store, actor, request.jobId)) };
    },
    async *watchJob(request, context) {
      await authorize(context, "viewer");
      for await (const job of watchJob({ kv: deps.kv, store }, request.jobId, context.signal, deps.watch)) {
        yield { job: jobToProto(job) };
      }
    },
    async *downloadPcap(request, context) {
      const actor = await authorize(context, "analyst");
      yield* downloadResult(
        { store, audit: deps.audit },
        actor,
        request.jobId,
        request.offset,
        context.signal,
      );
    },
    async listSensors(request, context) {
      await authorize(context, "viewer");
      const page = await listSensors(deps.db, request);
      return { sensors: page.sensors, nextAfter: page.nextAfter };
    },
  };
}

/** `pcapfleet.v1.JobService` bound for `createGrpcServer`. */
export function bindJobRpc(deps: JobServiceDeps): ServiceBinding {
  return bindService(JobService, createJobRpc(deps));
}
