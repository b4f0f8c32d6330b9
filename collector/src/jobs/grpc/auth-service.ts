/**
 * The gRPC AuthService: Login and Refresh over the same {@link AuthService} calls as `POST /login`
 * and `POST /refresh`, so rate limits, LDAP, session rows and refresh-token rotation are the
 * same, and the same field limits reject bad input first.
 */
import { AppError, ErrorCode } from "@pcapfleet/core";
import { AuthService as AuthRpc, bindService, type ServiceBinding, type ServiceImpl } from "@pcapfleet/proto";
import type { AuthService, TokenPair } from "../../auth/service.js";
import { clientMetaOf } from "./call-auth.js";

function requireText(value: string, field: string, max: number): string {
  if (value.length === 0) throw new AppError(ErrorCode.InvalidArgument, `${field} is required`);
  if (value.length > max)
    throw new AppError(ErrorCode.InvalidArgument, `${field}: at most ${max} characters`);
  return value;
}

function tokensOf(pair: TokenPair) {
  return {
    tokens: {
      accessToken: pair.access_token,
      refreshToken: pair.refresh_token,
      expiresIn: pair.expires_in,
      username: pair.user.username,
      role: pair.user.role,
    },
  };
}

/** The typed implementation of `pcapfleet.v1.AuthService` over `auth`. */
export function createAuthRpc(auth: AuthService): ServiceImpl<typeof AuthRpc> {
  return {
    async login(request, context) {
      const username = requireText(request.username, "username", 128);
      const password = requireText(request.password, "password", 1024);
      return tokensOf(await auth.login(username, password, clientMetaOf(context)));
    },
    async refresh(request, context) {
      const token = requireText(request.refreshToken, "refresh_token", 4096);
      return tokensOf(await auth.refresh(token, clientMetaOf(context)));
    },
  };
}

/** `pcapfleet.v1.AuthService` bound for `createGrpcServer`. */
export function bindAuthRpc(auth: AuthService): ServiceBinding {
  return bindService(AuthRpc, createAuthRpc(auth));
}
