import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { type FileDescriptorProto, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type * as grpc from "@grpc/grpc-js";
import { AppError, createLogger, ErrorCode, GrpcStatus } from "@pcapfleet/core";
import { service as healthService } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CaptureService } from "./gen/pcapfleet/v1/capture_pb.js";
import { createChannel, createClient } from "./grpc-adapter.js";
import { bindService, type ServiceImpl } from "./grpc-handlers.js";
import { createGrpcServer, type GrpcServer, listen, shutdown } from "./server.js";

const log = createLogger({ name: "proto-test", level: "silent" });

const captureImpl: ServiceImpl<typeof CaptureService> = {
  getStatus: () => ({ status: { identity: { name: "s1" } } }),
  estimate: () => ({}),
  async *slice(_request, context) {
    // Streams until cancelled, like a slice of a huge window; used to test shutdown.
    for (let sequence = 0n; !context.signal.aborted; sequence++) {
      yield { kind: { case: "chunk", value: { sequence, data: new Uint8Array(1024) } } };
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  },
};

let server: GrpcServer;
let channel: grpc.Client;

beforeAll(async () => {
  server = createGrpcServer({ log, services: [bindService(CaptureService, captureImpl)] });
  const port = await listen(server.server, "127.0.0.1:0");
  channel = createChannel(`127.0.0.1:${port}`);
});

afterAll(async () => {
  channel?.close();
  await server?.shutdown(1000);
});

/** Calls grpc.health.v1.Health/Check through grpc-health-check's own method definition. */
function healthCheck(service: string): Promise<{ status?: unknown; code?: number }> {
  const check = healthService["Check"];
  if (check === undefined) throw new Error("grpc-health-check has no Check method");
  return new Promise((resolve) => {
    channel.makeUnaryRequest(
      check.path,
      check.requestSerialize,
      check.responseDeserialize,
      { service },
      (error, response) => resolve(error === null ? { ...response } : { code: error.code }),
    );
  });
}

describe("health checking", () => {
  it("reports SERVING for the server and each registered service", async () => {
    await expect(healthCheck("")).resolves.toEqual({ status: "SERVING" });
    await expect(healthCheck("pcapfleet.v1.CaptureService")).resolves.toEqual({ status: "SERVING" });
    await expect(healthCheck("pcapfleet.v1.JobService")).resolves.toEqual({ code: GrpcStatus.NOT_FOUND });
  });

  it("reports what setServingStatus sets", async () => {
    server.setServingStatus("pcapfleet.v1.CaptureService", "NOT_SERVING");
    await expect(healthCheck("pcapfleet.v1.CaptureService")).resolves.toEqual({ status: "NOT_SERVING" });
    server.setServingStatus("pcapfleet.v1.CaptureService", "SERVING");
  });
});

// Field numbers of grpc.reflection.v1 ServerReflectionRequest / Response (reflection.proto).
const request = { fileContainingSymbol: 4, listServices: 7 } as const;
const response = { fileDescriptor: 4, listServices: 6, error: 7 } as const;

interface ReflectionAnswer {
  services: string[];
  files: FileDescriptorProto[];
  errorCode?: number;
}

/** Sends reflection requests over one ServerReflectionInfo stream and decodes the answers. */
async function reflect(
  version: "v1" | "v1alpha",
  ...asks: Array<[number, string]>
): Promise<ReflectionAnswer[]> {
  const identity = (bytes: Buffer): Buffer => bytes;
  const call = channel.makeBidiStreamRequest(
    `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
    identity,
    identity,
  );
  for (const [field, value] of asks) {
    call.write(Buffer.from(new BinaryWriter().tag(field, WireType.LengthDelimited).string(value).finish()));
  }
  call.end();
  const answers: ReflectionAnswer[] = [];
  for await (const bytes of call.iterator({ destroyOnReturn: false })) {
    answers.push(decodeReflectionResponse(new BinaryReader(bytes as Buffer)));
  }
  return answers;
}

function decodeReflectionResponse(reader: BinaryReader): ReflectionAnswer {
  const answer: ReflectionAnswer = { services: [], files: [] };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === response.listServices) {
      const list = new BinaryReader(reader.bytes());
      while (list.pos < list.len) {
        list.tag();
        const service = new BinaryReader(list.bytes());
        service.tag();
        answer.services.push(service.string());
      }
    } else if (field === response.fileDescriptor) {
      const files = new BinaryReader(reader.bytes());
      while (files.pos < files.len) {
        files.tag();
        answer.files.push(fromBinary(FileDescriptorProtoSchema, files.bytes()));
      }
    } else if (field === response.error) {
      const error = new BinaryReader(reader.bytes());
      error.tag();
      answer.errorCode = error.int32();
    } else {
      reader.skip(wireType);
    }
  }
  return answer;
}

describe("server reflection", () => {
  it.each(["v1", "v1alpha"] as const)("%s lists the served services", async (version) => {
    const [answer] = await reflect(version, [request.listServices, "*"]);
    expect(answer?.services.sort()).toEqual(["grpc.health.v1.Health", "pcapfleet.v1.CaptureService"]);
  });

  it("returns a file descriptor naming the service, with every import, enough to link it", async () => {
    const [answer] = await reflect("v1", [request.fileContainingSymbol, "pcapfleet.v1.CaptureService"]);
    const files = answer?.files ?? [];
    expect(files[0]?.name).toBe("pcapfleet/v1/capture.proto");
    expect(files[0]?.service.map((service) => service.name)).toEqual(["CaptureService"]);
    expect(files.map((file) => file.name).sort()).toEqual([
      "google/protobuf/timestamp.proto",
      "pcapfleet/v1/capture.proto",
      "pcapfleet/v1/common.proto",
      "pcapfleet/v1/sensor.proto",
    ]);
    // Linking fails on any missing import: what grpcurl needs for `describe` and JSON requests.
    const [capture] = files;
    if (capture === undefined) throw new Error("no file returned");
    const registry = createFileRegistry(capture, (name) => files.find((file) => file.name === name));
    const slice = registry.getService("pcapfleet.v1.CaptureService")?.method["slice"];
    expect(slice?.methodKind).toBe("server_streaming");
    expect(slice?.input.field["window"]?.message?.typeName).toBe("pcapfleet.v1.TimeWindow");
  });

  it("answers NOT_FOUND in-band for an unknown symbol", async () => {
    const [answer] = await reflect("v1", [request.fileContainingSymbol, "pcapfleet.v1.Nope"]);
    expect(answer?.errorCode).toBe(GrpcStatus.NOT_FOUND);
  });
});

describe("listen and shutdown", () => {
  it("fails with an unavailable AppError when the port is taken", async () => {
    const port = Number(channel.getChannel().getTarget().split(":").at(-1));
    const other = createGrpcServer({ log });
    const error = await listen(other.server, `127.0.0.1:${port}`).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe(ErrorCode.Unavailable);
    await other.shutdown(100);
  });

  it("cancels calls still running at the deadline", async () => {
    const local = createGrpcServer({ log, services: [bindService(CaptureService, captureImpl)] });
    const port = await listen(local.server, "127.0.0.1:0");
    const localChannel = createChannel(`127.0.0.1:${port}`);
    const capture = createClient(CaptureService, localChannel);
    const { responses } = capture.slice({});
    const read = (async () => {
      let count = 0;
      for await (const _ of responses) count++;
      return count;
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));

    const started = Date.now();
    await shutdown(local.server, 200);
    expect(Date.now() - started).toBeLessThan(2000);
    const outcome = await read.then(
      () => undefined,
      (error: grpc.ServiceError) => error.code,
    );
    expect([GrpcStatus.CANCELLED, GrpcStatus.UNAVAILABLE]).toContain(outcome);
    localChannel.close();
  });
});
