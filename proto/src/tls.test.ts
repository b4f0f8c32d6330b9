/**
 * TLS credentials against real grpc-js servers, with certificates made by the real `openssl`
 * (tls-testing.ts): mutual TLS works, and each way of getting it wrong fails the call with
 * UNAVAILABLE, which tlsCallError turns into a message that says TLS and why.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { AppError, createLogger, ErrorCode, GrpcStatus, type TlsConfig } from "@pcapfleet/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CaptureService } from "./gen/pcapfleet/v1/capture_pb.js";
import { createChannel, createClient } from "./grpc-adapter.js";
import { bindService, type ServiceImpl } from "./grpc-handlers.js";
import { createGrpcServer, type GrpcServer, listen } from "./server.js";
import { caOnlyCredentials, channelCredentials, serverCredentials, tlsCallError } from "./tls.js";
import { createTestPki, type TestPki } from "./tls-testing.js";

const log = createLogger({ name: "tls-test", level: "silent" });
const captureImpl: ServiceImpl<typeof CaptureService> = {
  getStatus: () => ({ status: { identity: { name: "tls-sensor" } } }),
  estimate: () => ({}),
  async *slice() {},
};

let dir: string;
let pki: TestPki;
let serverTls: TlsConfig;
let clientTls: TlsConfig;
/** TLS server that requires client certificates signed by the fleet CA. */
let mutual: string;
/** TLS server that does not ask for client certificates. */
let serverOnly: string;
/** Plaintext server. */
let plain: string;
const servers: GrpcServer[] = [];
const channels: grpc.Client[] = [];

async function startServer(credentials: grpc.ServerCredentials): Promise<string> {
  const server = createGrpcServer({ log, services: [bindService(CaptureService, captureImpl)] });
  servers.push(server);
  const port = await listen(server.server, "127.0.0.1:0", credentials);
  return `127.0.0.1:${port}`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pf-tls-"));
  pki = createTestPki(dir);
  serverTls = { cert: pki.server.cert, key: pki.server.key, ca: pki.ca };
  clientTls = { cert: pki.client.cert, key: pki.client.key, ca: pki.ca };
  mutual = await startServer(serverCredentials(serverTls, { requireClientCert: true }));
  serverOnly = await startServer(serverCredentials(serverTls));
  plain = await startServer(grpc.ServerCredentials.createInsecure());
}, 30_000);

afterAll(async () => {
  for (const channel of channels) channel.close();
  for (const server of servers) await server.shutdown(1000);
  rmSync(dir, { recursive: true, force: true });
});

function getStatus(address: string, credentials: grpc.ChannelCredentials) {
  const channel = createChannel(address, credentials);
  channels.push(channel);
  return createClient(CaptureService, channel).getStatus({}, { deadline: Date.now() + 10_000 });
}

/** The call's failure: its grpc status and what tlsCallError makes of it. */
async function failure(address: string, credentials: grpc.ChannelCredentials, secure: boolean) {
  const error = await getStatus(address, credentials).then(
    () => {
      throw new Error(`the call to ${address} succeeded`);
    },
    (reason: unknown) => reason as grpc.ServiceError,
  );
  return { code: error.code, tls: tlsCallError(error, address, { secure, hint: "check the CA" }) };
}

describe("mutual TLS", () => {
  it("serves a client that presents a certificate signed by the CA", async () => {
    const answer = await getStatus(mutual, channelCredentials(clientTls));
    expect(answer.status?.identity?.name).toBe("tls-sensor");
  });

  it("refuses a client without a certificate when one is required", async () => {
    const { code, tls } = await failure(mutual, caOnlyCredentials(pki.ca), true);
    expect(code).toBe(GrpcStatus.UNAVAILABLE);
    expect(tls?.code).toBe(ErrorCode.Unavailable);
    expect(tls?.message).toMatch(
      /^TLS handshake with 127\.0\.0\.1:\d+ failed: .*certificate required.*; check the CA$/,
    );
  });

  it("serves a client without a certificate when none is required", async () => {
    const answer = await getStatus(serverOnly, caOnlyCredentials(pki.ca));
    expect(answer.status?.identity?.name).toBe("tls-sensor");
  });

  it("refuses a client certificate signed by another CA", async () => {
    const other = { cert: pki.otherClient.cert, key: pki.otherClient.key, ca: pki.ca };
    const { code, tls } = await failure(mutual, channelCredentials(other), true);
    expect(code).toBe(GrpcStatus.UNAVAILABLE);
    expect(tls?.message).toMatch(/^TLS handshake with 127\.0\.0\.1:\d+ failed: /);
  });

  it("fails a client that trusts the wrong CA", async () => {
    const { code, tls } = await failure(serverOnly, caOnlyCredentials(pki.otherCa), true);
    expect(code).toBe(GrpcStatus.UNAVAILABLE);
    expect(tls?.message).toMatch(/^TLS handshake with 127\.0\.0\.1:\d+ failed: self[- ]signed certificate/);
  });

  it("fails a plaintext client of a TLS server", async () => {
    const { code, tls } = await failure(serverOnly, grpc.credentials.createInsecure(), false);
    expect(code).toBe(GrpcStatus.UNAVAILABLE);
    expect(tls?.message).toMatch(
      /closed a plaintext connection before gRPC started: it probably requires TLS; check the CA$/,
    );
  });

  it("fails a TLS client of a plaintext server", async () => {
    const { code, tls } = await failure(plain, caOnlyCredentials(pki.ca), true);
    expect(code).toBe(GrpcStatus.UNAVAILABLE);
    expect(tls?.message).toMatch(/^TLS handshake with 127\.0\.0\.1:\d+ failed: wrong version number/);
  });

  it("leaves failures that are not about TLS alone", async () => {
    const server = createGrpcServer({ log });
    servers.push(server);
    const port = await listen(server.server, "127.0.0.1:0");
    await server.shutdown(100);
    const refused = await failure(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), false);
    expect(refused.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(refused.tls).toBeUndefined();
    const notFound = Object.assign(new Error("5 NOT_FOUND: no such job"), {
      code: 5,
      details: "no such job",
    });
    expect(tlsCallError(notFound, "x:1", { secure: true })).toBeUndefined();
  });
});

describe("reading the PEM files", () => {
  const attempt = (tls: TlsConfig): AppError => {
    try {
      channelCredentials(tls);
      serverCredentials(tls);
    } catch (error) {
      if (error instanceof AppError) return error;
      throw error;
    }
    throw new Error("the credentials were built");
  };

  it("names a missing file and its key", () => {
    const error = attempt({ ...clientTls, ca: join(dir, "nowhere.pem") });
    expect(error.code).toBe(ErrorCode.InvalidArgument);
    expect(error.message).toBe(`config: tls.ca: ${join(dir, "nowhere.pem")} cannot read (ENOENT)`);
  });

  it("names a file that is not PEM", () => {
    const garbage = join(dir, "garbage.pem");
    writeFileSync(garbage, "not a certificate\n");
    expect(attempt({ ...clientTls, cert: garbage }).message).toBe(
      `config: tls.cert: ${garbage} is not a PEM file (no -----BEGIN line)`,
    );
    expect(attempt({ ...clientTls, key: pki.client.cert }).message).toMatch(
      /^config: tls\.key: .*client\.pem not a PEM private key/,
    );
  });

  it("names a key that belongs to another certificate", () => {
    expect(attempt({ ...clientTls, key: pki.server.key }).message).toBe(
      `config: tls.key: ${pki.server.key} is not the private key of the certificate in ${pki.client.cert}`,
    );
  });

  it("refuses a leaf certificate given as the CA", () => {
    const leafAsCa = join(dir, "leaf-as-ca.pem");
    copyFileSync(pki.client.cert, leafAsCa);
    expect(attempt({ ...clientTls, ca: leafAsCa }).message).toMatch(
      /^config: tls\.ca: .*leaf-as-ca\.pem holds a certificate that is not a CA: CN=client$/,
    );
    expect(() => caOnlyCredentials(leafAsCa)).toThrow(
      /^--ca: .*leaf-as-ca\.pem holds a certificate that is not a CA/,
    );
  });

  it("accepts good files", () => {
    expect(() => serverCredentials(serverTls, { requireClientCert: true })).not.toThrow();
    expect(() => caOnlyCredentials(pki.ca)).not.toThrow();
  });
});

describe("warnings", () => {
  it("drops only Node's warning about an IP address as TLS server name", async () => {
    caOnlyCredentials(pki.ca);
    const seen: string[] = [];
    const listener = (warning: Error & { code?: string }) => seen.push(warning.code ?? warning.message);
    process.on("warning", listener);
    try {
      process.emitWarning("Setting the TLS ServerName to an IP address", "DeprecationWarning", "DEP0123");
      process.emitWarning("something else", { type: "TestWarning", code: "PF9999" });
      process.emitWarning("plain");
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", listener);
    }
    expect(seen).toEqual(["PF9999", "plain"]);
  });
});
