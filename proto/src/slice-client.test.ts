/**
 * The node:http2 Slice client against real grpc-js servers (plaintext and TLS, certificates
 * from the real `openssl`): the bytes arrive exact and in order, metadata reaches the handler,
 * statuses and their messages come back as grpc-js gives them, aborting cancels the handler,
 * pausing holds the server back, and failures to connect read as grpc-js's do, so tlsCallError
 * explains the TLS ones.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { AppError, createLogger, ErrorCode, GrpcStatus } from "@pcapfleet/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CaptureService,
  type SliceRequest,
  type SliceResponseSchema,
} from "./gen/pcapfleet/v1/capture_pb.js";
import { bindService, type HandlerContext, type ServiceImpl } from "./grpc-handlers.js";
import { createGrpcServer, type GrpcServer, listen } from "./server.js";
import { SliceConnections } from "./slice-client.js";
import { clientTls, serverCredentials, tlsCallError } from "./tls.js";
import { createTestPki, type TestPki } from "./tls-testing.js";

const log = createLogger({ name: "slice-client-test", level: "silent" });
type Reply = MessageInitShape<typeof SliceResponseSchema>;
/** What the servers' Slice does; each test sets it. */
let handler: (request: SliceRequest, context: HandlerContext) => AsyncGenerator<Reply>;
const impl: ServiceImpl<typeof CaptureService> = {
  getStatus: () => ({}),
  estimate: () => ({}),
  slice: (request, context) => handler(request, context),
};

let dir: string;
let pki: TestPki;
let plain: string;
let mutual: string;
const servers: GrpcServer[] = [];
const connections: SliceConnections[] = [];

async function startServer(credentials: grpc.ServerCredentials): Promise<string> {
  const server = createGrpcServer({ log, services: [bindService(CaptureService, impl)] });
  servers.push(server);
  const port = await listen(server.server, "127.0.0.1:0", credentials);
  return `127.0.0.1:${port}`;
}

function client(tls?: ConstructorParameters<typeof SliceConnections>[0]): SliceConnections {
  const made = new SliceConnections(tls);
  connections.push(made);
  return made;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pf-slice-client-"));
  pki = createTestPki(dir);
  plain = await startServer(grpc.ServerCredentials.createInsecure());
  mutual = await startServer(
    serverCredentials(
      { cert: pki.server.cert, key: pki.server.key, ca: pki.ca },
      { requireClientCert: true },
    ),
  );
}, 30_000);

afterAll(async () => {
  for (const made of connections) made.close();
  for (const server of servers) await server.shutdown(1000);
  rmSync(dir, { recursive: true, force: true });
});

/** `count` chunks of `size` bytes each (a pattern per chunk), then a summary of them. */
function chunks(count: number, size: number) {
  const all: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const data = Buffer.alloc(size);
    for (let j = 0; j < size; j++) data[j] = (i * 7 + j) & 0xff;
    all.push(data);
  }
  const whole = Buffer.concat(all);
  const sha256 = createHash("sha256").update(whole).digest("hex");
  async function* serve(request: SliceRequest): AsyncGenerator<Reply> {
    let offset = request.resumeOffset;
    for (const [i, data] of all.entries()) {
      yield { kind: { case: "chunk", value: { sequence: BigInt(i), offset, data } } };
      offset += BigInt(data.length);
    }
    yield { kind: { case: "done", value: { bytes: BigInt(whole.length), packets: 9n, sha256 } } };
  }
  return { whole, sha256, serve };
}

/** Runs a call to completion; what arrived, and how it ended. */
async function collect(
  connectionsTo: SliceConnections,
  address: string,
  options: { signal?: AbortSignal; metadata?: Record<string, string>; resumeOffset?: bigint } = {},
) {
  const pieces: Buffer[] = [];
  const offsets: bigint[] = [];
  const call = connectionsTo.slice(
    address,
    { taskId: "t1", filter: "tcp", resumeOffset: options.resumeOffset ?? 0n },
    {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
      onData(bytes, offset) {
        pieces.push(bytes);
        offsets.push(offset);
      },
    },
  );
  const outcome = await call.done.then(
    (summary) => ({ summary, error: undefined }),
    (error: unknown) => ({ summary: undefined, error: error as { code?: number; details?: string } }),
  );
  return { data: Buffer.concat(pieces), pieces, offsets, ...outcome };
}

describe("Slice over node:http2", () => {
  it("receives every byte in order, numbered from the resume offset, and the summary", async () => {
    const { whole, sha256, serve } = chunks(40, 256 * 1024 + 3);
    handler = serve;
    const { data, pieces, offsets, summary, error } = await collect(client(), plain, { resumeOffset: 77n });
    expect(error).toBeUndefined();
    expect(data.equals(whole)).toBe(true);
    let next = 77n;
    pieces.forEach((piece, i) => {
      expect(offsets[i]).toBe(next);
      next += BigInt(piece.length);
    });
    expect(summary?.sha256).toBe(sha256);
    expect(summary?.packets).toBe(9n);
  });

  it("sends the metadata as headers the handler reads", async () => {
    let seen: unknown;
    handler = async function* (_request, context) {
      seen = context.metadata.get("pcapfleet-job-id")[0];
      yield { kind: { case: "done", value: {} } };
    };
    const { error } = await collect(client(), plain, { metadata: { "pcapfleet-job-id": "job-42" } });
    expect(error).toBeUndefined();
    expect(seen).toBe("job-42");
  });

  it("reports the handler's status and message as grpc-js does, after the data sent before it", async () => {
    handler = async function* () {
      yield { kind: { case: "chunk", value: { data: Buffer.from("first") } } };
      throw new AppError(ErrorCode.NotFound, "no data in range 2026-11-28T10:00:00Z – 11:00 (100% aged out)");
    };
    const { data, error } = await collect(client(), plain);
    expect(data.toString()).toBe("first");
    expect(error?.code).toBe(GrpcStatus.NOT_FOUND);
    expect(error?.details).toBe("no data in range 2026-11-28T10:00:00Z – 11:00 (100% aged out)");
    expect(AppError.from(error).code).toBe(ErrorCode.NotFound);
  });

  it("reports a status sent before any data (trailers only)", async () => {
    handler = async function* () {
      yield* [];
      throw new AppError(ErrorCode.InvalidArgument, "filter: syntax error");
    };
    const { error } = await collect(client(), plain);
    expect(error?.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(error?.details).toBe("filter: syntax error");
  });

  it("cancels the handler when the caller aborts", async () => {
    let handlerSaw: Promise<unknown> | undefined;
    handler = async function* (_request, context) {
      handlerSaw = new Promise((resolve) =>
        context.signal.addEventListener("abort", () => resolve("aborted")),
      );
      for (;;) {
        yield { kind: { case: "chunk", value: { data: Buffer.alloc(64 * 1024) } } };
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const abort = new AbortController();
    const connectionsTo = client();
    let received = 0;
    const call = connectionsTo.slice(
      plain,
      { taskId: "t2" },
      {
        signal: abort.signal,
        onData(bytes) {
          received += bytes.length;
          if (received > 1024 * 1024) abort.abort("stop");
        },
      },
    );
    const error = (await call.done.catch((reason: unknown) => reason)) as { code?: number };
    expect(error.code).toBe(GrpcStatus.CANCELLED);
    expect(await handlerSaw).toBe("aborted");
  });

  it("ends the call with what onData throws", async () => {
    handler = chunks(3, 1000).serve;
    const failure = new Error("out of order");
    const call = client().slice(
      plain,
      { taskId: "t3" },
      {
        onData() {
          throw failure;
        },
      },
    );
    await expect(call.done).rejects.toBe(failure);
  });

  it("holds the server back while paused", async () => {
    let yielded = 0;
    handler = async function* (): AsyncGenerator<Reply> {
      for (let i = 0; i < 200; i++) {
        yielded++;
        yield { kind: { case: "chunk", value: { data: Buffer.alloc(256 * 1024, i) } } };
      }
      yield { kind: { case: "done", value: {} } };
    };
    let received = 0;
    let paused = false;
    const call = client().slice(
      plain,
      { taskId: "t4" },
      {
        onData(bytes) {
          received += bytes.length;
          if (!paused && received >= 1024 * 1024) {
            paused = true;
            call.pause();
          }
        },
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The receive window (4 MiB) and socket buffers hold some; the 50 MB slice waits.
    expect(received).toBeLessThan(16 * 1024 * 1024);
    expect(yielded).toBeLessThan(100);
    call.resume();
    await call.done;
    expect(received).toBe(200 * 256 * 1024);
  });

  it("reuses one connection per address", async () => {
    const peers = new Set<string>();
    handler = async function* (_request, context) {
      peers.add(String(context.metadata.get("x-call")[0]));
      yield { kind: { case: "done", value: {} } };
    };
    const connectionsTo = client();
    await collect(connectionsTo, plain, { metadata: { "x-call": "1" } });
    const sessions = (connectionsTo as unknown as { sessions: Map<string, unknown> }).sessions;
    const first = sessions.get(plain);
    await collect(connectionsTo, plain, { metadata: { "x-call": "2" } });
    expect(sessions.get(plain)).toBe(first);
    expect(peers.size).toBe(2);
  });

  it("fails an address nobody listens on with UNAVAILABLE, not as TLS", async () => {
    const server = createGrpcServer({ log });
    const port = await listen(server.server, "127.0.0.1:0");
    await server.shutdown(100);
    const { error } = await collect(client(), `127.0.0.1:${port}`);
    expect(error?.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(error?.details).toMatch(/ECONNREFUSED/);
    expect(tlsCallError(error, "x", { secure: false })).toBeUndefined();
  });
});

describe("Slice over node:http2 with TLS", () => {
  const fleet = () => clientTls({ cert: pki.client.cert, key: pki.client.key, ca: pki.ca }).pem;

  it("streams from an agent that requires the collector's certificate", async () => {
    const { whole, serve } = chunks(5, 100_000);
    handler = serve;
    const { data, error } = await collect(client(fleet()), mutual);
    expect(error).toBeUndefined();
    expect(data.equals(whole)).toBe(true);
  });

  it("fails a certificate the agent does not trust as a TLS handshake failure", async () => {
    handler = chunks(1, 10).serve;
    const other = clientTls({ cert: pki.otherClient.cert, key: pki.otherClient.key, ca: pki.ca }).pem;
    const { error } = await collect(client(other), mutual);
    expect(error?.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(tlsCallError(error, mutual, { secure: true })?.message).toMatch(
      /^TLS handshake with 127\.0\.0\.1:\d+ failed: /,
    );
  });

  it("fails an agent whose certificate another CA signed", async () => {
    handler = chunks(1, 10).serve;
    const wrongCa = {
      ...fleet(),
      ca: clientTls({ cert: pki.client.cert, key: pki.client.key, ca: pki.otherCa }).pem.ca,
    };
    const { error } = await collect(client(wrongCa), mutual);
    expect(tlsCallError(error, mutual, { secure: true })?.message).toMatch(
      /failed: self[- ]signed certificate/,
    );
  });

  it("fails plaintext to a TLS agent, and TLS to a plaintext one, saying so", async () => {
    handler = chunks(1, 10).serve;
    const plainToTls = await collect(client(), mutual);
    expect(plainToTls.error?.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(tlsCallError(plainToTls.error, mutual, { secure: false })?.message).toMatch(
      /closed a plaintext connection before gRPC started: it probably requires TLS$/,
    );
    const tlsToPlain = await collect(client(fleet()), plain);
    expect(tlsCallError(tlsToPlain.error, plain, { secure: true })?.message).toMatch(
      /^TLS handshake with 127\.0\.0\.1:\d+ failed: wrong version number/,
    );
  });
});
