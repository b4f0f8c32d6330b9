import { describe, expect, it } from "vitest";
import { loadCollectorConfig } from "./config.js";

describe("the collector's tls block", () => {
  it("is absent (plaintext gRPC) by default", () => {
    expect(loadCollectorConfig({ env: {} }).tls).toBeUndefined();
  });

  it("is read from the documented example, requireClientCert off", () => {
    const file = new URL("../../docs/collector.example.yaml", import.meta.url).pathname;
    expect(loadCollectorConfig({ env: {}, file }).tls).toEqual({
      cert: "/etc/pcapfleet/tls/collector.pem",
      key: "/etc/pcapfleet/tls/collector.key",
      ca: "/etc/pcapfleet/tls/fleet-ca.pem",
      requireClientCert: false,
    });
  });

  it("takes every key from the environment, and names a missing one", () => {
    const env = {
      PCAPFLEET_TLS_CERT: "/tls/c.pem",
      PCAPFLEET_TLS_KEY: "/tls/c.key",
      PCAPFLEET_TLS_CA: "/tls/ca.pem",
      PCAPFLEET_TLS_REQUIRE_CLIENT_CERT: "1",
    };
    expect(loadCollectorConfig({ env }).tls).toEqual({
      cert: "/tls/c.pem",
      key: "/tls/c.key",
      ca: "/tls/ca.pem",
      requireClientCert: true,
    });
    const { PCAPFLEET_TLS_KEY: _key, ...partial } = env;
    expect(() => loadCollectorConfig({ env: partial })).toThrow(/^config: tls\.key: required /);
  });
});
