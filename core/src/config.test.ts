import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, hostPort, loadConfig, parseList } from "./config.js";

const schema = z
  .object({
    listen: hostPort.prefault("127.0.0.1:8080"),
    stores: z.array(z.string()).default([]),
    heartbeatS: z.coerce.number().positive().default(10),
    nested: z
      .object({ level: z.string().default("info") })
      .strict()
      .prefault({}),
  })
  .strict();
const bindings = {
  APP_LISTEN: { path: "listen" },
  APP_STORES: { path: "stores", parse: parseList },
  APP_HEARTBEAT: { path: "heartbeatS" },
  APP_LEVEL: { path: "nested.level" },
};

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "pcapfleet-config-")), "config.yaml");
  writeFileSync(file, text);
  return file;
}

describe("loadConfig", () => {
  it("applies defaults when nothing is given", () => {
    const config = loadConfig(schema, bindings, { env: {} });
    expect(config.listen).toEqual({ host: "127.0.0.1", port: 8080, text: "127.0.0.1:8080" });
    expect(config.stores).toEqual([]);
    expect(config.heartbeatS).toBe(10);
    expect(config.nested.level).toBe("info");
  });

  it("reads the YAML file and lets the environment win", () => {
    const file = yamlFile("listen: '[::1]:9000'\nheartbeatS: 5\nnested:\n  level: debug\nstores: [/a]\n");
    const fromFile = loadConfig(schema, bindings, { env: {}, file });
    expect(fromFile.listen).toMatchObject({ host: "::1", port: 9000 });
    expect(fromFile.heartbeatS).toBe(5);
    expect(fromFile.nested.level).toBe("debug");
    const overridden = loadConfig(schema, bindings, {
      env: { APP_HEARTBEAT: "2.5", APP_STORES: "/x, /y,,", APP_LEVEL: "warn" },
      file,
    });
    expect(overridden.heartbeatS).toBe(2.5);
    expect(overridden.stores).toEqual(["/x", "/y"]);
    expect(overridden.nested.level).toBe("warn");
    expect(overridden.listen.port).toBe(9000);
  });

  it("returns a deeply frozen object", () => {
    const config = loadConfig(schema, bindings, { env: { APP_STORES: "/a" } });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.stores)).toBe(true);
    expect(Object.isFrozen(config.listen)).toBe(true);
  });

  it("names the bad key and the variable it came from", () => {
    expect(() => loadConfig(schema, bindings, { env: { APP_LISTEN: "localhost" } })).toThrow(
      /^config: listen: expected host:port, got 'localhost' \(from APP_LISTEN\)$/,
    );
    expect(() => loadConfig(schema, bindings, { env: { APP_HEARTBEAT: "-1" } })).toThrow(
      /^config: heartbeatS: .* \(from APP_HEARTBEAT\)$/,
    );
    expect(() => loadConfig(schema, bindings, { env: { APP_LISTEN: "h:70000" } })).toThrow(/listen/);
  });

  it("names the bad key of a file, including unknown keys", () => {
    const file = yamlFile("heartbeatS: soon\n");
    expect(() => loadConfig(schema, bindings, { env: {}, file })).toThrow(
      new RegExp(`^config: heartbeatS: .* \\(from ${file.replaceAll("/", "\\/")}\\)$`),
    );
    const unknown = yamlFile("listn: 1.2.3.4:5\n");
    expect(() => loadConfig(schema, bindings, { env: {}, file: unknown })).toThrow(/listn/);
  });

  it("rejects a missing file, bad YAML and a non-mapping with a ConfigError", () => {
    expect(() => loadConfig(schema, bindings, { env: {}, file: "/nonexistent/pcapfleet.yaml" })).toThrow(
      /cannot read \/nonexistent\/pcapfleet.yaml: ENOENT/,
    );
    expect(() => loadConfig(schema, bindings, { env: {}, file: yamlFile("a: [1, 2\n") })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig(schema, bindings, { env: {}, file: yamlFile("- 1\n- 2\n") })).toThrow(/mapping/);
  });
});
