/**
 * Who calls a gRPC method, and whether their role may: the bearer token of the `authorization`
 * metadata checked by the same {@link AuthService} the HTTP middleware uses, and the same roles
 * (viewer < analyst < admin) the permission table gives the matching HTTP endpoints.
 */
import { AppError, ErrorCode } from "@pcapfleet/core";
import type { HandlerContext } from "@pcapfleet/proto";
import type { AuthService, AuthUser, ClientMeta } from "../../auth/service.js";
import { hasRole, type Role } from "../../users/types.js";
import type { JobActor } from "../job-actions.js";

/** The token of `authorization: Bearer <token>` metadata; `unauthenticated` when there is none. */
export function bearerToken(context: Pick<HandlerContext, "metadata">): string {
  const header = context.metadata.get("authorization").find((v): v is string => typeof v === "string");
  const match = header === undefined ? null : /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim());
  if (match?.[1] === undefined) {
    throw new AppError(
      ErrorCode.Unauthenticated,
      "bearer token required: send metadata `authorization: Bearer <access token>` (AuthService.Login)",
    );
  }
  return match[1];
}

/**
 * The address part of a grpc-js peer (`127.0.0.1:5000`, `[::1]:5000`, `ipv4:10.0.0.1:5000`), for
 * the audit log and login rate limits; the peer text itself when it has no port.
 */
export function peerIp(peer: string): string {
  const bare = peer.replace(/^ipv[46]:/, "");
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(bare);
  if (bracketed?.[1] !== undefined) return bracketed[1];
  const hostPort = /^([^:]+):\d+$/.exec(bare);
  return hostPort?.[1] ?? bare;
}

/** Where a call comes from, as the auth service records sessions. */
export function clientMetaOf(context: Pick<HandlerContext, "metadata" | "peer">): ClientMeta {
  const agent = context.metadata.get("user-agent").find((v): v is string => typeof v === "string");
  return { ip: peerIp(context.peer), userAgent: agent ?? null };
}

/** Checks the caller of one call. */
export type CallAuthorizer = (context: HandlerContext, role: Role) => Promise<JobActor & AuthUser>;

/**
 * Creates the check: `unauthenticated` without a valid, unrevoked access token, then
 * `permission_denied` when the user's role is below `role`.
 */
export function createCallAuthorizer(auth: Pick<AuthService, "authenticate">): CallAuthorizer {
  return async function authorizeCall(context, role) {
    const user = await auth.authenticate(bearerToken(context));
    if (!hasRole(user.role, role)) {
      throw new AppError(ErrorCode.PermissionDenied, `requires role ${role} (you are ${user.role})`);
    }
    return { ...user, ip: peerIp(context.peer) };
  };
}
