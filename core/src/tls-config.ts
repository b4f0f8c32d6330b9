/**
 * The `tls` block of the agent's and the collector's configuration: PEM files of this process's
 * certificate, its private key and the CA that signs the fleet's certificates. Plaintext when
 * the block is absent; all three files when it is present, so a half-configured fleet fails at
 * start instead of quietly talking in clear. proto/src/tls.ts turns the block into grpc-js
 * credentials.
 */
import { z } from "zod";
import type { EnvBinding } from "./config.js";

const pemPath = (what: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? `required (${what})` : undefined) }).min(1);

/** Schema of the `tls` block shared by agent and collector. */
export const tlsConfigSchema = z
  .object({
    /** PEM certificate (chain) this process presents, signed by `ca`. */
    cert: pemPath("PEM certificate file this process presents"),
    /** PEM private key of `cert`. */
    key: pemPath("PEM private key file of cert"),
    /** PEM CA certificate(s) the peers' certificates must be signed by. */
    ca: pemPath("PEM file of the CA that signs the fleet's certificates"),
  })
  .strict();

/** A validated `tls` block: paths of PEM files. */
export type TlsConfig = Readonly<z.output<typeof tlsConfigSchema>>;

/** Reads `true/false/1/0/yes/no` from an environment variable; anything else is left for zod to reject. */
export function parseBoolean(text: string): unknown {
  const lower = text.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(lower)) return true;
  if (["0", "false", "no", "off"].includes(lower)) return false;
  return text;
}

/** The collector's `tls` block: the shared one plus whether callers must present a certificate. */
export const collectorTlsConfigSchema = tlsConfigSchema
  .extend({
    /**
     * Refuse gRPC callers without a certificate signed by `ca`. Off by default: agents present
     * theirs anyway, and CLI users authenticate with tokens (ADR 0018).
     */
    requireClientCert: z.boolean().default(false),
  })
  .strict();

/** A validated collector `tls` block. */
export type CollectorTlsConfig = Readonly<z.output<typeof collectorTlsConfigSchema>>;

/** Environment variables of the `tls` block, agent and collector alike. */
export const tlsEnv: Readonly<Record<string, EnvBinding>> = {
  PCAPFLEET_TLS_CERT: { path: "tls.cert" },
  PCAPFLEET_TLS_KEY: { path: "tls.key" },
  PCAPFLEET_TLS_CA: { path: "tls.ca" },
};

/** The collector's: {@link tlsEnv} plus `PCAPFLEET_TLS_REQUIRE_CLIENT_CERT`. */
export const collectorTlsEnv: Readonly<Record<string, EnvBinding>> = {
  ...tlsEnv,
  PCAPFLEET_TLS_REQUIRE_CLIENT_CERT: { path: "tls.requireClientCert", parse: parseBoolean },
};
