/**
 * The collector's gRPC services for automation: JobService (jobs and sensors) and AuthService
 * (log in over gRPC alone). `createJobGrpcServices` returns both, bound for `createGrpcServer`.
 */
import type { ServiceBinding } from "@pcapfleet/proto";
import type { AuthService } from "../../auth/service.js";
import { bindAuthRpc } from "./auth-service.js";
import { bindJobRpc, type JobServiceDeps } from "./job-service.js";

export { cancelJob, type JobActionDeps, type JobActor, publishJobEvent, submitJob } from "../job-actions.js";
export { bindAuthRpc, createAuthRpc } from "./auth-service.js";
export { bearerToken, createCallAuthorizer, peerIp } from "./call-auth.js";
export { DOWNLOAD_CHUNK_BYTES } from "./download.js";
export {
  enumNumber,
  enumWord,
  isoFromTimestamp,
  jobToProto,
  specBodyFromProto,
  timestampFromIso,
} from "./job-proto.js";
export { bindJobRpc, createJobRpc, type JobServiceDeps } from "./job-service.js";

/** JobService and AuthService, bound; pass them to `createGrpcServer({services})`. */
export function createJobGrpcServices(
  deps: JobServiceDeps & { readonly auth: AuthService },
): ServiceBinding[] {
  return [bindJobRpc(deps), bindAuthRpc(deps.auth)];
}
