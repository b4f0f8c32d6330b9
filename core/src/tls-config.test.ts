import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, loadConfig } from "./config.js";
import { collectorTlsConfigSchema, collectorTlsEnv, tlsConfigSchema, tlsEnv } from "./tls-config.js";

const agentLike = z.object({ tls: tlsConfigSchema.optional() }).strict();
const collectorLike = z.object({ tls: collectorTlsConfigSchema.optional() }).strict();

describe("tls config block", () => {
  it("is absent (plaintext) when nothing configures it", () => {
    expect(loadConfig(agentLike, tlsEnv, { env: {} }).tls).toBeUndefined();
  });

  it("takes the three PEM paths from the environment", () => {
    const config = loadConfig(agentLike, tlsEnv, {
      env: { PCAPFLEET_TLS_CERT: "/c.pem", PCAPFLEET_TLS_KEY: "/k.pem", PCAPFLEET_TLS_CA: "/ca.pem" },
    });
    expect(config.tls).toEqual({ cert: "/c.pem", key: "/k.pem", ca: "/ca.pem" });
  });

  it("names the missing key of a partial block", () => {
    const load = () =>
      loadConfig(agentLike, tlsEnv, { env: { PCAPFLEET_TLS_CERT: "/c.pem", PCAPFLEET_TLS_CA: "/ca.pem" } });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/^config: tls\.key: required \(PEM private key file of cert\)/);
  });

  it("rejects unknown keys in the block", () => {
    const schema = z.object({ tls: tlsConfigSchema.optional() }).strict();
    expect(schema.safeParse({ tls: { cert: "a", key: "b", ca: "c", verify: false } }).success).toBe(false);
  });

  it("defaults requireClientCert to false on the collector and reads the variable", () => {
    const env = { PCAPFLEET_TLS_CERT: "/c.pem", PCAPFLEET_TLS_KEY: "/k.pem", PCAPFLEET_TLS_CA: "/ca.pem" };
    expect(loadConfig(collectorLike, collectorTlsEnv, { env }).tls?.requireClientCert).toBe(false);
    const on = loadConfig(collectorLike, collectorTlsEnv, {
      env: { ...env, PCAPFLEET_TLS_REQUIRE_CLIENT_CERT: "true" },
    });
    expect(on.tls?.requireClientCert).toBe(true);
    expect(() =>
      loadConfig(collectorLike, collectorTlsEnv, {
        env: { ...env, PCAPFLEET_TLS_REQUIRE_CLIENT_CERT: "maybe" },
      }),
    ).toThrow(/^config: tls\.requireClientCert: .* \(from PCAPFLEET_TLS_REQUIRE_CLIENT_CERT\)$/);
  });
});
