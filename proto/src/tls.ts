/**
 * grpc-js credentials from the `tls` config block (core's tls-config.ts): PEM files read and
 * checked once, at start, so a wrong path, a file that is not PEM or a key of another certificate
 * stops the program with one line naming the file, instead of every handshake failing later.
 * Peers are verified against the fleet's own CA only, never the system roots (ADR 0018).
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { AppError, ErrorCode, type TlsConfig } from "@pcapfleet/core";

/** grpc-js channel credentials, for packages that do not depend on grpc-js themselves. */
export type ChannelCredentials = grpc.ChannelCredentials;
/** grpc-js server credentials, for packages that do not depend on grpc-js themselves. */
export type ServerCredentials = grpc.ServerCredentials;

/** Options of {@link serverCredentials}. */
export interface ServerTlsOptions {
  /** Refuse callers that present no certificate signed by `ca` (the TLS handshake fails). */
  readonly requireClientCert: boolean;
}

/** The PEM files of a `tls` block, read and checked. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

/**
 * Server credentials from `tls`: this process's certificate and key; with `requireClientCert`,
 * callers must present a certificate signed by `ca`. Throws an `invalid_argument` AppError
 * naming the file when one cannot be used.
 */
export function serverCredentials(
  tls: TlsConfig,
  options: Partial<ServerTlsOptions> = {},
): grpc.ServerCredentials {
  const material = readTls(tls);
  return grpc.ServerCredentials.createSsl(
    material.ca,
    [{ cert_chain: material.cert, private_key: material.key }],
    options.requireClientCert ?? false,
  );
}

/**
 * Channel credentials from `tls`: the peer's certificate is verified against `ca` (and its
 * subject alternative names against the address dialled), and this process's certificate is
 * presented for servers that require one.
 */
export function channelCredentials(tls: TlsConfig): grpc.ChannelCredentials {
  return clientTls(tls).credentials;
}

/** A TLS client's material: grpc-js credentials, and the PEM files for node:http2 clients. */
export interface ClientTls {
  readonly credentials: grpc.ChannelCredentials;
  readonly pem: TlsMaterial;
}

/** {@link channelCredentials} and the PEM files they were made of, read and checked once. */
export function clientTls(tls: TlsConfig): ClientTls {
  const material = readTls(tls);
  muteIpServerNameWarning();
  return { credentials: grpc.credentials.createSsl(material.ca, material.key, material.cert), pem: material };
}

/**
 * Channel credentials that verify the server against the CA in `caPath` and present no
 * certificate: what the `pcapfleet` CLI uses, whose users authenticate with tokens. `key` names
 * where the path came from in error messages (`--ca`, `PCAPFLEET_CA`).
 */
export function caOnlyCredentials(caPath: string, key = "--ca"): grpc.ChannelCredentials {
  const ca = readCa(caPath, key);
  muteIpServerNameWarning();
  return grpc.credentials.createSsl(ca);
}

let ipServerNameMuted = false;

/**
 * grpc-js sends the dialled host as TLS server name (SNI), also when it is an IP address, and
 * Node then prints DeprecationWarning DEP0123 (RFC 6066 allows only host names there) to
 * stderr once per process: noise in the CLI's output and the daemons' logs that nobody can act
 * on, since the certificate is still verified against the IP in its SAN. Only that warning is
 * dropped; every other one is emitted as before.
 */
function muteIpServerNameWarning(): void {
  if (ipServerNameMuted) return;
  ipServerNameMuted = true;
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((...args: unknown[]) => {
    const options = args[1];
    const code =
      typeof options === "object" && options !== null ? (options as { code?: unknown }).code : args[2];
    if (code !== "DEP0123") emit(...args);
  }) as typeof process.emitWarning;
}

function readTls(tls: TlsConfig): TlsMaterial {
  const cert = readPem(tls.cert, "tls.cert");
  const leaf = parseCertificates(cert, tls.cert, "tls.cert")[0] as X509Certificate;
  const key = readPem(tls.key, "tls.key");
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (cause) {
    throw tlsFileError("tls.key", tls.key, `not a PEM private key (${reason(cause)})`, cause);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw tlsFileError("tls.key", tls.key, `is not the private key of the certificate in ${tls.cert}`);
  }
  return { cert, key, ca: readCa(tls.ca, "tls.ca") };
}

function readCa(path: string, key: string): Buffer {
  const ca = readPem(path, key);
  for (const certificate of parseCertificates(ca, path, key)) {
    if (!certificate.ca)
      throw tlsFileError(key, path, `holds a certificate that is not a CA: ${certificate.subject}`);
  }
  return ca;
}

function readPem(path: string, key: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? reason(cause);
    throw tlsFileError(key, path, `cannot read (${code})`, cause);
  }
  if (!bytes.includes("-----BEGIN ")) throw tlsFileError(key, path, "is not a PEM file (no -----BEGIN line)");
  return bytes;
}

const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate of a PEM file; at least one, and each must parse. */
function parseCertificates(pem: Buffer, path: string, key: string): X509Certificate[] {
  const blocks = pem.toString("latin1").match(certificateBlock) ?? [];
  if (blocks.length === 0) throw tlsFileError(key, path, "holds no PEM certificate (BEGIN CERTIFICATE)");
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch (cause) {
      throw tlsFileError(key, path, `holds a certificate that does not parse (${reason(cause)})`, cause);
    }
  });
}

function tlsFileError(key: string, path: string, problem: string, cause?: unknown): AppError {
  // Config keys read like the other config errors; a CLI flag (`--ca`) stands on its own.
  const prefix = key.startsWith("tls.") ? "config: " : "";
  return new AppError(ErrorCode.InvalidArgument, `${prefix}${key}: ${path} ${problem}`, { cause });
}

function reason(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * Words of the errors Node and OpenSSL give for failed TLS handshakes; grpc-js reports them as
 * UNAVAILABLE with the socket error's text.
 */
const tlsFailure =
  /certificate|self[- ]signed|unable to (get|verify)|SSL|TLS|alert|handshake|wrong version number|packet length too long|Hostname\/IP does not match|ERR_TLS/i;
/** What grpc-js reports when the peer closed the connection before HTTP/2 started. */
const dropped = /^(Failed to connect|Connection dropped|Socket closed|socket hang up|read ECONNRESET)$/i;
/** OpenSSL's `803C…:error:0A00045C:SSL routines:func:reason:file:line:…` down to its reason. */
const opensslLine = /^(?:Error: )?[0-9A-F]+:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):.*$/s;

/** Options of {@link tlsCallError}. */
export interface TlsCallErrorOptions {
  /** Whether the failed channel used TLS credentials. */
  readonly secure: boolean;
  /** Appended to the message: what the user can do (`pass --ca FILE`). */
  readonly hint?: string;
}

/**
 * When `error` (a grpc `ServiceError`, or its AppError) comes from a failed TLS handshake, an
 * `unavailable` AppError whose message says so and why, with `options.hint`; otherwise
 * undefined. A peer closing the connection before gRPC started counts too: that is what a TLS
 * server does to a plaintext caller, and what a server requiring client certificates does to a
 * certificate it does not trust.
 */
export function tlsCallError(
  error: unknown,
  peer: string,
  options: TlsCallErrorOptions,
): AppError | undefined {
  const failure = AppError.from(error);
  if (failure.code !== ErrorCode.Unavailable) return undefined;
  const detail = failure.message
    .replace(/^\d+ UNAVAILABLE: /, "")
    .replace(/^No connection established\. Last error: (Error: )?/, "")
    .replace(/\.? Resolution note:.*$/s, "")
    .replace(/\s*\(\d{4}-\d\d-\d\dT[^)]*\)$/, "")
    .replace(opensslLine, "$1")
    .trim();
  const hint = options.hint === undefined ? "" : `; ${options.hint}`;
  let message: string | undefined;
  if (tlsFailure.test(detail)) message = `TLS handshake with ${peer} failed: ${detail}${hint}`;
  else if (dropped.test(detail)) {
    message = options.secure
      ? `TLS handshake with ${peer} failed: it closed the connection (does it trust this certificate, and serve TLS?)${hint}`
      : `${peer} closed a plaintext connection before gRPC started: it probably requires TLS${hint}`;
  }
  return message === undefined ? undefined : new AppError(ErrorCode.Unavailable, message, { cause: error });
}
