/**
 * `npm run demo` (scripts/demo.mjs) as a user runs it: two live sample rings, the collector on
 * embedded defaults and two agents; it prints the dashboard URL and the admin login, both
 * sensors show online through the API, the dashboard page is served, and Ctrl-C stops all of it.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureBuilt, ROOT } from "./slice/agent-bin.js";

describe("npm run demo", () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("starts the collector and two agents, prints the login, and stops on Ctrl-C", async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), "pf-demo-"));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PCAPFLEET_DEMO_DIR: dir,
      PCAPFLEET_HTTP_LISTEN: "127.0.0.1:0",
      PCAPFLEET_GRPC_LISTEN: "127.0.0.1:0",
    };
    delete env["DATABASE_URL"];
    delete env["REDIS_URL"];
    const child = spawn(process.execPath, [join(ROOT, "scripts", "demo.mjs")], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 90_000;
      while (!/Login: admin \/ \S+\n/.test(out)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`demo did not start:\n${out}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const url = /Dashboard: (http:\/\/\S+\/)\n/.exec(out)?.[1] as string;
      const password = /Login: admin \/ (\S+)\n/.exec(out)?.[1] as string;
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<pf-app");
      const login = await fetch(`${url}api/v1/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "admin", password }),
      });
      expect(login.status).toBe(200);
      const { access_token: token } = (await login.json()) as { access_token: string };
      let names: string[] = [];
      while (names.length < 2) {
        if (Date.now() > deadline) throw new Error(`sensors not online: ${names.join(", ")}`);
        const response = await fetch(`${url}api/v1/sensors`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const { sensors } = (await response.json()) as { sensors: Array<{ name: string; status: string }> };
        names = sensors.filter((sensor) => sensor.status === "online").map((sensor) => sensor.name);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(names.sort()).toEqual(["demo-branch", "demo-hq"]);
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
    expect(out).toContain("Stopping the demo");
  }, 150_000);
});
