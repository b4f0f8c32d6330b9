import { describe, expect, it } from "vitest";
import { AppError, ErrorCode, errorCodeTable, GrpcStatus } from "./errors.js";

describe("AppError", () => {
  it("maps every code to an HTTP status, a gRPC status and an exit code", () => {
    const table = errorCodeTable();
    expect(table.map((row) => row.code).sort()).toEqual(Object.values(ErrorCode).sort());
    const byCode = new Map(table.map((row) => [row.code, row]));
    expect(byCode.get("invalid_argument")).toMatchObject({
      http: 400,
      grpc: GrpcStatus.INVALID_ARGUMENT,
      exit: 2,
    });
    expect(byCode.get("unauthenticated")?.http).toBe(401);
    expect(byCode.get("permission_denied")?.http).toBe(403);
    expect(byCode.get("not_found")).toMatchObject({ http: 404, grpc: GrpcStatus.NOT_FOUND });
    expect(byCode.get("conflict")?.http).toBe(409);
    expect(byCode.get("too_large")?.http).toBe(413);
    expect(byCode.get("rate_limited")?.http).toBe(429);
    expect(byCode.get("unavailable")).toMatchObject({ http: 503, grpc: GrpcStatus.UNAVAILABLE });
  });

  it("renders {code, message} and hides the message of server faults", () => {
    const bad = new AppError(ErrorCode.InvalidArgument, "start_time must be RFC 3339", {
      details: { field: "start_time" },
    });
    expect(bad.toJSON()).toEqual({
      code: "invalid_argument",
      message: "start_time must be RFC 3339",
      details: { field: "start_time" },
    });
    const fault = new AppError(ErrorCode.Internal, "pool exhausted at db.ts:42");
    expect(fault.toJSON()).toEqual({ code: "internal", message: "internal error" });
    expect(fault.isServerFault).toBe(true);
    expect(new AppError(ErrorCode.Unavailable, "sensor down").toJSON().message).toBe("sensor down");
  });

  it("keeps the cause", () => {
    const cause = new Error("ECONNREFUSED");
    expect(new AppError(ErrorCode.Unavailable, "redis unreachable", { cause }).cause).toBe(cause);
  });

  it("from() passes AppErrors through, reads gRPC errors and wraps the rest as internal", () => {
    const original = new AppError(ErrorCode.NotFound, "no such job");
    expect(AppError.from(original)).toBe(original);

    const grpcLike = Object.assign(new Error("3 INVALID_ARGUMENT: bad filter"), {
      code: GrpcStatus.INVALID_ARGUMENT,
      details: "bad filter",
    });
    const fromGrpc = AppError.from(grpcLike);
    expect(fromGrpc.code).toBe("invalid_argument");
    expect(fromGrpc.message).toBe("bad filter");
    expect(fromGrpc.cause).toBe(grpcLike);

    const wrapped = AppError.from(new TypeError("x is undefined"));
    expect(wrapped.code).toBe("internal");
    expect(wrapped.message).toBe("x is undefined");
    expect(AppError.from("plain string").message).toBe("plain string");
  });
});
