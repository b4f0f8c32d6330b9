// No pcapfleet contract uses client streaming yet, but the adapter supports it; this test
// serves a service described at runtime (no .proto file, no generated code) to cover that kind
// and to show the adapter works from descriptors alone.
import { create, createFileRegistry, type Message } from "@bufbuild/protobuf";
import type { GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import type * as grpc from "@grpc/grpc-js";
import { AppError, createLogger, ErrorCode, GrpcStatus } from "@pcapfleet/core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createChannel, createClient, type TypedClient } from "./grpc-adapter.js";
import { bindService } from "./grpc-handlers.js";
import { createGrpcServer, type GrpcServer, listen } from "./server.js";

type Num = Message<"test.v1.Num"> & { n: bigint };
type SumService = GenService<{
  add: { methodKind: "client_streaming"; input: GenMessage<Num>; output: GenMessage<Num> };
}>;

const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "test/v1/sum.proto",
    package: "test.v1",
    syntax: "proto3",
    messageType: [
      {
        name: "Num",
        field: [
          {
            name: "n",
            jsonName: "n",
            number: 1,
            type: FieldDescriptorProto_Type.INT64,
            label: FieldDescriptorProto_Label.OPTIONAL,
          },
        ],
      },
    ],
    service: [
      {
        name: "SumService",
        method: [
          { name: "Add", inputType: ".test.v1.Num", outputType: ".test.v1.Num", clientStreaming: true },
        ],
      },
    ],
  }),
  () => undefined,
);
const described = registry.getService("test.v1.SumService");
if (described === undefined) throw new Error("test service did not link");
// The descriptor above declares exactly this shape; generated code would carry it as a type.
const sumService = described as SumService;

let server: GrpcServer;
let channel: grpc.Client;
let sum: TypedClient<SumService>;

beforeAll(async () => {
  server = createGrpcServer({
    log: createLogger({ name: "proto-test", level: "silent" }),
    services: [
      bindService(sumService, {
        async add(requests) {
          let total = 0n;
          for await (const request of requests) {
            if (request.n < 0n) throw new AppError(ErrorCode.InvalidArgument, "negative number");
            total += request.n;
          }
          return { n: total };
        },
      }),
    ],
  });
  const port = await listen(server.server, "127.0.0.1:0");
  channel = createChannel(`127.0.0.1:${port}`);
  sum = createClient(sumService, channel);
});

afterAll(async () => {
  channel?.close();
  await server?.shutdown(1000);
});

it("reads every request and returns one response", async () => {
  const { requests, response } = sum.add();
  for (const n of [1n, 2n, 39n]) requests.write({ n });
  requests.end();
  expect((await response).n).toBe(42n);
});

it("rejects the response with the handler's AppError status", async () => {
  const { requests, response } = sum.add();
  requests.write({ n: -1n });
  requests.end();
  const error = (await response.catch((reason: unknown) => reason)) as grpc.ServiceError;
  expect(error.code).toBe(GrpcStatus.INVALID_ARGUMENT);
  expect(error.details).toBe("negative number");
});

it("answers an empty request stream", async () => {
  const { requests, response } = sum.add({ signal: AbortSignal.timeout(5_000) });
  requests.end();
  expect((await response).n).toBe(0n);
});
