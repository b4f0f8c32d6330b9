/**
 * The `pcapfleet` automation CLI as users run it: the built bin as a child process against a
 * real collector and agent (tests/cli/fleet.ts), over gRPC only. Exit codes, the token file,
 * downloads checked byte for byte against the REST download, and errors people can act on.
 * Embedded PGlite only: the gRPC services' storage paths run on Postgres in job-service.test.ts.
 */
import { createHash } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, cliOnTerminal, type Fleet, PASSWORD, startFleet } from "./fleet.js";

let fleet: Fleet;
let env: Record<string, string>;
let window: string[];

const json = <T = Record<string, unknown>>(text: string): T => JSON.parse(text) as T;
const tokenFile = (): string => join(fleet.work, "config", "pcapfleet", "token.json");

beforeAll(async () => {
  fleet = await startFleet("cli");
  env = {
    XDG_CONFIG_HOME: join(fleet.work, "config"),
    PCAPFLEET_COLLECTOR_GRPC: fleet.collector.grpcAddress,
  };
  window = [
    "--from",
    String(fleet.startSec + 1),
    "--to",
    new Date((fleet.startSec + 4) * 1000).toISOString(),
  ];
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
});

describe("pcapfleet login", () => {
  it("refuses a wrong password with exit 3, saving nothing", async () => {
    const result = await cli(["login", "--user", "admin", "--password-stdin"], env, "wrong-password\n");
    expect(result).toMatchObject({ code: 3, stderr: "pcapfleet login: invalid username or password\n" });
    await expect(stat(tokenFile())).rejects.toThrow(/ENOENT/);
  });

  it("saves the tokens in a file only the user can read", async () => {
    const result = await cli(["login", "--user", "admin", "--password-stdin"], env, `${PASSWORD}\n`);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("as admin (admin)");
    expect((await stat(tokenFile())).mode & 0o777).toBe(0o600);
    expect((await stat(join(tokenFile(), ".."))).mode & 0o777).toBe(0o700);
    const saved = json<{ collectors: Record<string, { access_token: string; refresh_token: string }> }>(
      await readFile(tokenFile(), "utf8"),
    );
    expect(saved.collectors[fleet.collector.grpcAddress]?.refresh_token).toMatch(/\./);
  });

  it("takes the password from PCAPFLEET_PASSWORD, and asks for one it cannot get", async () => {
    const other = { ...env, XDG_CONFIG_HOME: join(fleet.work, "config-analyst") };
    const ok = await cli(["login", "--user", "analyst", "--json"], {
      ...other,
      PCAPFLEET_PASSWORD: PASSWORD,
    });
    expect(ok.code).toBe(0);
    expect(json(ok.stdout)).toMatchObject({ username: "analyst", role: "analyst" });
    const none = await cli(["login", "--user", "analyst"], other);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no password: use --password-stdin, set PCAPFLEET_PASSWORD/);
  });

  it("refreshes an expired access token by itself", async () => {
    const before = json<{ collectors: Record<string, Record<string, string>> }>(
      await readFile(tokenFile(), "utf8"),
    );
    const session = before.collectors[fleet.collector.grpcAddress] ?? {};
    session["access_expires_at"] = "2001-01-01T00:00:00Z";
    await writeFile(tokenFile(), JSON.stringify(before));
    const result = await cli(["jobs", "ls"], env);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const after = json<typeof before>(await readFile(tokenFile(), "utf8")).collectors[
      fleet.collector.grpcAddress
    ];
    expect(after?.["access_token"]).not.toBe(session["access_token"]);
    expect(Date.parse(after?.["access_expires_at"] ?? "")).toBeGreaterThan(Date.now());
    expect((await stat(tokenFile())).mode & 0o777).toBe(0o600);
  });
});

describe("pcapfleet jobs", () => {
  it("submits, waits and downloads: the file is the REST download and its sha256 checks", async () => {
    const out = join(fleet.work, "out.pcap");
    const result = await cli(
      ["jobs", "submit", ...window, "--protocol", "tcp", "--sensor", "sensor-a", "-o", out],
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    // stderr is not a terminal here: one plain line per change, no progress bar.
    expect(result.stderr).not.toContain("\r");
    expect(result.stderr).toMatch(/ {2}sensor-a: complete, \d+ packets/);
    const id = /^id: +(\S+)$/m.exec(result.stdout)?.[1] ?? "";
    expect(result.stdout).toMatch(/^status: +complete$/m);
    const job = (await fleet.api(`/jobs/${id}`)).body as { result: { sha256: string; bytes: number } };
    const file = await readFile(out);
    expect(file.equals(await fleet.restDownload(id))).toBe(true);
    expect(createHash("sha256").update(file).digest("hex")).toBe(job.result.sha256);
    expect(result.stderr).toContain(
      `wrote ${out}: ${job.result.bytes} bytes, sha256 ${job.result.sha256} (verified)`,
    );
    await expect(stat(`${out}.part`)).rejects.toThrow(/ENOENT/);

    const again = join(fleet.work, "again.pcap");
    const download = await cli(["jobs", "download", id, "-o", again], env);
    expect(download.code, download.stderr).toBe(0);
    expect((await readFile(again)).equals(file)).toBe(true);
  });

  it("lists and shows jobs as tables and as JSON", async () => {
    const submitted = await cli(
      ["jobs", "submit", ...window, "--sensor", "sensor-a", "--description", "listed", "--json"],
      env,
    );
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = json<{ id: string; status: string }>(submitted.stdout).id;
    const table = await cli(["jobs", "ls"], env);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID +STATUS +OWNER +CREATED/);
    expect(table.stdout).toMatch(new RegExp(`^${id} +\\w+ +admin .*listed$`, "m"));
    const listed = json<{ jobs: { id: string; description: string }[] }>(
      (await cli(["--json", "jobs", "ls"], env)).stdout,
    );
    expect(listed.jobs.find((j) => j.id === id)?.description).toBe("listed");
    const waited = await cli(["jobs", "wait", id, "--json"], env);
    expect(waited.code, waited.stderr).toBe(0);
    const shown = json<{ status: string; tasks: { sensor: string; status: string }[] }>(
      (await cli(["jobs", "show", id, "--json"], env)).stdout,
    );
    expect(shown.status).toBe("complete");
    const text = (await cli(["jobs", "show", id], env)).stdout;
    expect(text).toMatch(/^SENSOR +STATUS +ERROR +PACKETS/m);
    expect(text).toMatch(/^sensor-a +complete +- +\d+/m);
    const complete = json<{ jobs: { status: string }[] }>(
      (await cli(["jobs", "ls", "--status", "complete", "--json"], env)).stdout,
    );
    expect(complete.jobs.length).toBeGreaterThan(0);
    expect(complete.jobs.every((j) => j.status === "complete")).toBe(true);
  });

  it("cancels a job, and a waiter sees it end with exit 1", async () => {
    const later = String(Math.floor(Date.now() / 1000) + 3600);
    const submitted = await cli(["jobs", "submit", ...window, "--at", later, "--json"], env);
    const id = json<{ id: string; status: string }>(submitted.stdout).id;
    expect(json<{ status: string }>(submitted.stdout).status).toBe("queued");
    const waiter = cli(["jobs", "wait", id], env);
    const cancelled = await cli(["jobs", "cancel", id, "--json"], env);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(json<{ status: string }>(cancelled.stdout).status).toBe("cancelled");
    const waited = await waiter;
    expect(waited.code).toBe(1);
    expect(waited.stderr).toContain(`pcapfleet jobs wait: job ${id} was cancelled: cancelled by admin`);
    const twice = await cli(["jobs", "cancel", id], env);
    expect(twice).toMatchObject({
      code: 5,
      stderr: `pcapfleet jobs cancel: job ${id} already finished: cancelled\n`,
    });
  });

  it("exits 1 with the job's error when every sensor failed, 0 with a warning when some did", async () => {
    const failed = await cli(["jobs", "submit", ...window, "--sensor", "sensor-gone", "--wait"], env);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /pcapfleet jobs submit: job \S+ failed: no sensor delivered: sensor-gone: .*offline/,
    );
    const partial = await cli(
      ["jobs", "submit", ...window, "--sensor", "sensor-a", "--sensor", "sensor-gone", "--wait"],
      env,
    );
    expect(partial.code, partial.stderr).toBe(0);
    expect(partial.stderr).toMatch(
      /warning: job \S+ is partial; failed on sensor-gone \(sensor_offline: .+\)/,
    );
  });

  it("rejects a bad filter with exit 2 and libpcap's message, and bad flags before calling", async () => {
    const bad = await cli(["jobs", "submit", ...window, "--filter", "tcp port nonsense"], env);
    expect(bad).toMatchObject({ code: 2, stdout: "" });
    expect(bad.stderr).toMatch(/^pcapfleet jobs submit: bad filter 'tcp port nonsense': .*nonsense.*\n$/);
    const time = await cli(["jobs", "submit", "--from", "yesterday", "--to", "1700000000"], env);
    expect(time.code).toBe(2);
    expect(time.stderr).toMatch(/bad --from 'yesterday'/);
    const port = await cli(["jobs", "submit", ...window, "--src-port", "70000"], env);
    expect(port).toMatchObject({
      code: 2,
      stderr: "pcapfleet jobs submit: --src-port must be an integer from 1 to 65535, not '70000'\n",
    });
    const missing = await cli(["jobs", "show", "5d5e0b55-0000-4000-8000-000000000000"], env);
    expect(missing).toMatchObject({
      code: 4,
      stderr: "pcapfleet jobs show: no job 5d5e0b55-0000-4000-8000-000000000000\n",
    });
  });
});

describe("pcapfleet sensors", () => {
  it("lists sensors as a table and as JSON, by location", async () => {
    const table = await cli(["sensors", "ls"], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^sensor-a +site-a +(online|degraded) +\d{4}-/m);
    expect(table.stdout).toMatch(/^sensor-gone +site-a +offline/m);
    const listed = json<{ sensors: { name: string; pcap_newest_at: string | null; stores: unknown[] }[] }>(
      (await cli(["sensors", "ls", "--json", "--location", "site-a"], env)).stdout,
    );
    const a = listed.sensors.find((s) => s.name === "sensor-a");
    expect(a?.stores).toHaveLength(1);
    // The newest packet of the ring, at the millisecond precision the collector keeps.
    const newestMs = Number((fleet.ring.at(-1)?.lastNs ?? 0n) / 1_000_000n);
    expect(Date.parse(a?.pcap_newest_at ?? "")).toBe(newestMs);
    const none = json<{ sensors: unknown[] }>(
      (await cli(["sensors", "ls", "--json", "--location", "elsewhere"], env)).stdout,
    );
    expect(none.sensors).toEqual([]);
  });
});

describe("pcapfleet on a terminal", () => {
  it("asks for the password without echoing it", async () => {
    const terminal = { ...env, XDG_CONFIG_HOME: join(fleet.work, "config-tty") };
    const result = await cliOnTerminal(["login", "--user", "analyst"], terminal, {
      prompt: "Password for analyst: ",
      text: `${PASSWORD}\r`,
    });
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain("Logged in to");
    expect(result.output).not.toContain(PASSWORD);
  });

  it("draws a progress bar in place while it waits", async () => {
    const result = await cliOnTerminal(["jobs", "submit", ...window, "--sensor", "sensor-a", "--wait"], env);
    expect(result.code, result.output).toBe(0);
    // Each redraw returns the cursor and clears the line (ESC [2K) before writing the bar.
    expect(result.output).toContain(`\r${"\u001b"}[2Kjob `);
    expect(result.output).toMatch(/job [0-9a-f]{8} \[#{24}\] 100% complete, 1\/1 sensors done\r?\n/);
    // No line per change: that is for logs, not terminals.
    expect(result.output).not.toMatch(/sensor-a: complete/);
  });
});

describe("pcapfleet failures", () => {
  it("says a bad token was refused, exit 3", async () => {
    const result = await cli(["sensors", "ls", "--token", "not-a-token"], env);
    expect(result).toMatchObject({ code: 3, stdout: "" });
    expect(result.stderr).toBe(
      "pcapfleet sensors ls: the collector refused the token of --token: invalid token\n",
    );
    const fromEnv = await cli(["jobs", "ls"], { ...env, PCAPFLEET_TOKEN: "not-a-token" });
    expect(fromEnv.code).toBe(3);
    expect(fromEnv.stderr).toContain("refused the token of PCAPFLEET_TOKEN");
  });

  it("says a viewer may not submit, exit 3", async () => {
    const viewer = { ...env, XDG_CONFIG_HOME: join(fleet.work, "config-viewer") };
    expect((await cli(["login", "--user", "viewer", "--password-stdin"], viewer, PASSWORD)).code).toBe(0);
    const result = await cli(["jobs", "submit", ...window], viewer);
    expect(result).toMatchObject({
      code: 3,
      stderr: "pcapfleet jobs submit: requires role analyst (you are viewer)\n",
    });
  });

  it("names an unreachable collector, exit 7", async () => {
    const result = await cli(["jobs", "ls", "--collector", "127.0.0.1:1", "--token", "x"], env);
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(
      /^pcapfleet jobs ls: cannot reach the collector at 127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1\n$/,
    );
    const login = await cli(
      ["login", "--user", "admin", "--password-stdin", "--collector", "127.0.0.1:1"],
      env,
      PASSWORD,
    );
    expect(login.code).toBe(7);
    expect(login.stderr).toContain("cannot reach the collector at 127.0.0.1:1");
  });

  it("asks for a login when there is no token for the collector, exit 3", async () => {
    const result = await cli(["jobs", "ls"], { ...env, XDG_CONFIG_HOME: join(fleet.work, "config-empty") });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      `not logged in to ${fleet.collector.grpcAddress}: run \`pcapfleet login --user NAME\``,
    );
  });
});
