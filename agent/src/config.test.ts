import { describe, expect, it } from "vitest";
import { loadAgentConfig } from "./config.js";

describe("loadAgentConfig", () => {
  it("reads every variable of DESIGN.md", () => {
    const config = loadAgentConfig({
      env: {
        PCAPFLEET_SENSOR: "edge-1",
        PCAPFLEET_LOCATION: "dc-east",
        PCAPFLEET_STORE: "/pcap/a,/pcap/b",
        PCAPFLEET_COLLECTOR: "10.0.0.5:50051",
        PCAPFLEET_AGENT_LISTEN: "0.0.0.0:50052",
        PCAPFLEET_HEARTBEAT_S: "3",
      },
    });
    expect(config).toMatchObject({
      sensor: "edge-1",
      location: "dc-east",
      stores: ["/pcap/a", "/pcap/b"],
      collector: { host: "10.0.0.5", port: 50051 },
      listen: { host: "0.0.0.0", port: 50052 },
      heartbeatS: 3,
    });
  });

  it("defaults to the DESIGN.md values", () => {
    const config = loadAgentConfig({ env: {} });
    expect(config.location).toBe("default");
    expect(config.collector.text).toBe("127.0.0.1:50051");
    expect(config.listen.text).toBe("127.0.0.1:50052");
    expect(config.heartbeatS).toBe(10);
    expect(config.reconnectMaxS).toBe(60);
    expect(config.sensor.length).toBeGreaterThan(0);
  });

  it("stops on a bad heartbeat interval, naming the variable", () => {
    expect(() => loadAgentConfig({ env: { PCAPFLEET_HEARTBEAT_S: "often" } })).toThrow(
      /heartbeatS.*PCAPFLEET_HEARTBEAT_S/,
    );
  });

  it("loads the documented example configuration", () => {
    const file = new URL("../../docs/agent.example.yaml", import.meta.url).pathname;
    const config = loadAgentConfig({ env: {}, file });
    expect(config.sensor).toBe("sensor-dc1-01");
    expect(config.advertiseAddress?.text).toBe("sensor-dc1-01.example.net:50052");
    expect(config.capture[0]).toMatchObject({ interface: "eth1", filter: "not port 22", maxDiskPercent: 90 });
    expect(config.summaryPrefixV4).toBe(24);
    expect(config.tls).toEqual({
      cert: "/etc/pcapfleet/tls/sensor-dc1-01.pem",
      key: "/etc/pcapfleet/tls/sensor-dc1-01.key",
      ca: "/etc/pcapfleet/tls/fleet-ca.pem",
    });
  });

  it("is plaintext without a tls block, and names the missing key of a partial one", () => {
    expect(loadAgentConfig({ env: {} }).tls).toBeUndefined();
    const env = { PCAPFLEET_TLS_CERT: "/tls/a.pem", PCAPFLEET_TLS_KEY: "/tls/a.key" };
    expect(() => loadAgentConfig({ env })).toThrow(/^config: tls\.ca: required \(.*\) \(from defaults\)$/);
    const full = loadAgentConfig({ env: { ...env, PCAPFLEET_TLS_CA: "/tls/ca.pem" } });
    expect(full.tls).toEqual({ cert: "/tls/a.pem", key: "/tls/a.key", ca: "/tls/ca.pem" });
  });
});
