import { describe, expect, it } from "vitest";
import { loadCollectorConfig } from "./config.js";

describe("loadCollectorConfig", () => {
  it("defaults to embedded storage and the DESIGN.md addresses", () => {
    const config = loadCollectorConfig({ env: {} });
    expect(config.httpListen.text).toBe("127.0.0.1:8080");
    expect(config.grpcListen.text).toBe("127.0.0.1:50051");
    expect(config.dataDir).toBe("./data");
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.adminPassword).toBeUndefined();
  });

  it("reads the environment", () => {
    const config = loadCollectorConfig({
      env: {
        PCAPFLEET_HTTP_LISTEN: "0.0.0.0:80",
        DATABASE_URL: "postgres://pcap@db/pcapfleet",
        REDIS_URL: "redis://cache:6379",
        PCAPFLEET_ADMIN_PASSWORD: "correct horse",
        PCAPFLEET_DATA_DIR: "/var/lib/pcapfleet",
      },
    });
    expect(config.httpListen.port).toBe(80);
    expect(config.databaseUrl).toBe("postgres://pcap@db/pcapfleet");
    expect(config.redisUrl).toBe("redis://cache:6379");
    expect(config.dataDir).toBe("/var/lib/pcapfleet");
  });

  it("rejects a non-Postgres DATABASE_URL and a short admin password, naming the key", () => {
    expect(() => loadCollectorConfig({ env: { DATABASE_URL: "mysql://x" } })).toThrow(
      /^config: databaseUrl: expected a postgres:\/\/ .* \(from DATABASE_URL\)$/,
    );
    expect(() => loadCollectorConfig({ env: { PCAPFLEET_ADMIN_PASSWORD: "short" } })).toThrow(
      /adminPassword.*PCAPFLEET_ADMIN_PASSWORD/,
    );
  });

  it("loads the documented example configuration", () => {
    const file = new URL("../../docs/collector.example.yaml", import.meta.url).pathname;
    const config = loadCollectorConfig({ env: {}, file });
    expect(config.grpcListen.text).toBe("0.0.0.0:50051");
    expect(config.auth.keys[0]?.kid).toBe("2026-11");
    expect(config.auth.trustProxy).toBe(true);
    expect(config.sensorStatus.retentionHours).toBe(24);
    expect(config.partitions.retentionDays.auditLog).toBe(365);
    expect(config.jobs.perSensorTasks).toBe(2);
    expect(config.jobs.resultMaxTotalBytes).toBe(100 * 1024 ** 3);
  });
});
