import { mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadSession, saveSession, tokenFilePath, withTokenLock } from "./token-file.js";

const session = (name: string) => ({
  username: name,
  role: "analyst",
  access_token: `access-${name}`,
  refresh_token: `refresh-${name}`,
  access_expires_at: "2030-01-01T00:00:00.000Z",
});

describe("token file", () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "pf-token-"));
    path = tokenFilePath({ XDG_CONFIG_HOME: dir });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("lives under XDG_CONFIG_HOME, else ~/.config", () => {
    expect(path).toBe(join(dir, "pcapfleet", "token.json"));
    expect(tokenFilePath({ HOME: "/home/u" })).toBe("/home/u/.config/pcapfleet/token.json");
    expect(tokenFilePath({ XDG_CONFIG_HOME: "", HOME: "/home/u" })).toBe(
      "/home/u/.config/pcapfleet/token.json",
    );
  });

  it("keeps one session per collector, readable by the user only", async () => {
    await saveSession(path, "a:1", session("x"));
    await saveSession(path, "b:2", session("y"));
    expect(await loadSession(path, "a:1")).toEqual(session("x"));
    expect(await loadSession(path, "b:2")).toEqual(session("y"));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(path, ".."))).mode & 0o777).toBe(0o700);
    await saveSession(path, "a:1", undefined);
    expect(await loadSession(path, "a:1")).toBeUndefined();
    expect(JSON.parse(await readFile(path, "utf8")).collectors).toEqual({ "b:2": session("y") });
  });

  it("keeps the CA path a TLS login used beside its tokens", async () => {
    await saveSession(path, "tls:1", { ...session("t"), ca: "/etc/pcapfleet/fleet-ca.pem" });
    expect((await loadSession(path, "tls:1"))?.ca).toBe("/etc/pcapfleet/fleet-ca.pem");
    await writeFile(path, JSON.stringify({ collectors: { "tls:1": { ...session("t"), ca: 7 } } }));
    expect(await loadSession(path, "tls:1")).toBeUndefined();
  });

  it("treats a damaged file as no session, and a missing one too", async () => {
    expect(await loadSession(path, "a:1")).toBeUndefined();
    await saveSession(path, "a:1", session("x"));
    await writeFile(path, "{not json");
    expect(await loadSession(path, "a:1")).toBeUndefined();
    await writeFile(path, JSON.stringify({ collectors: { "a:1": { username: "x" } } }));
    expect(await loadSession(path, "a:1")).toBeUndefined();
  });

  it("runs refreshes one at a time, and takes over a lock its holder left behind", async () => {
    const order: string[] = [];
    let entered = (): void => undefined;
    let release = (): void => undefined;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = withTokenLock(path, async () => {
      order.push("first in");
      entered();
      await gate;
      order.push("first out");
    });
    await inside;
    const second = withTokenLock(path, async () => {
      order.push("second");
    });
    // Give the second holder every chance to enter wrongly before the first lets go.
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(["first in", "first out", "second"]);
    await writeFile(`${path}.lock`, "");
    const old = new Date(Date.now() - 120_000);
    await utimes(`${path}.lock`, old, old);
    expect(await withTokenLock(path, async () => "taken over")).toBe("taken over");
    await writeFile(`${path}.lock`, "");
    await expect(withTokenLock(path, async () => "never", { waitMs: 100 })).rejects.toMatchObject({
      code: "timeout",
    });
  });
});
