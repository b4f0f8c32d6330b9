import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@pcapfleet/core";
import { createChannel, createClient, SensorIngest } from "@pcapfleet/proto";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCollectorConfig } from "../../collector/src/config.js";
import { beat, testClock } from "../../collector/src/ingest/testing.js";
import { createLogRing } from "../../collector/src/logs/log-ring.js";
import { type RunningCollector, startCollector } from "../../collector/src/main/start-collector.js";
import { launchBrowser } from "../../tests/support/browser.js";
import { ensureDashboardBuilt } from "../../tests/support/dashboard-collector.js";
import { logIn, openWatchedPage, type WatchedPage } from "../../tests/support/dashboard-pages.js";
import { until } from "../../tests/support/wait.js";

// The Network page of the real bundle in real Chromium against a real collector (in-process,
// PGlite) whose network maintenance runs every half second: subnet traffic comes in through
// SensorIngest heartbeats carrying per-minute summaries, becomes learned map entries, rollups
// and flows, and the page shows them. Admin changes go through the page; a viewer sees no
// admin controls.

const ADMIN_PASSWORD = "network-page-admin-pw";
const minute = Math.floor(Date.now() / 60_000) - 2;
/** Locations with coordinates, created before their sensors report. */
const PLACES = {
  paris: { latitude: 48.85, longitude: 2.35 },
  tokyo: { latitude: 35.68, longitude: 139.69 },
  sydney: { latitude: -33.87, longitude: 151.21 },
} as const;

let dataDir: string;
let collector: RunningCollector;
let browser: Browser;
let admin: WatchedPage;
let token: string;
const streams: (() => void)[] = [];

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${collector.httpUrl}/api/v1${path}`, {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** One heartbeat of `sensor` at `location` carrying `traffic` rows, acked by the collector. */
async function report(
  sensor: string,
  location: string,
  traffic: { prefix: string; dir: "src" | "dst"; bytes: number }[],
): Promise<void> {
  const client = createClient(SensorIngest, createChannel(collector.grpcAddress));
  const call = client.heartbeats();
  streams.push(() => call.requests.end());
  const rows = traffic.flatMap((t) => [0, 1].map((m) => ({ ...t, minute: minute + m })));
  call.requests.write(beat(sensor, testClock(Date.now()), { sequence: 1, location, traffic: rows }));
  await call.responses[Symbol.asyncIterator]().next();
}

/** Centre of a location's dot on the map. */
async function dot(page: Page, name: string): Promise<{ x: number; y: number }> {
  const circle = page.locator(`pf-network-map g.dot[data-location="${name}"] circle`);
  await circle.waitFor();
  return { x: Number(await circle.getAttribute("cx")), y: Number(await circle.getAttribute("cy")) };
}

async function flowWidth(page: Page, from: string, to: string): Promise<number> {
  const line = page.locator(`pf-network-map line.flow[data-from="${from}"][data-to="${to}"]`);
  return Number(await line.getAttribute("stroke-width"));
}

beforeAll(async () => {
  await ensureDashboardBuilt();
  dataDir = await mkdtemp(join(tmpdir(), "pcapfleet-network-page-"));
  const file = join(dataDir, "collector.yaml");
  await writeFile(file, "network:\n  intervalS: 0.5\n  minPackets: 1\n");
  const config = loadCollectorConfig({
    env: {
      PCAPFLEET_HTTP_LISTEN: "127.0.0.1:0",
      PCAPFLEET_GRPC_LISTEN: "127.0.0.1:0",
      PCAPFLEET_DATA_DIR: dataDir,
      PCAPFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD,
      PCAPFLEET_LOG_LEVEL: "warn",
    },
    file,
  });
  const logs = createLogRing(100);
  [collector, browser] = await Promise.all([
    startCollector(config, createLogger({ name: "collector", level: "warn", destination: logs }), logs),
    launchBrowser(),
  ]);
  const login = await api("POST", "/login", { username: "admin", password: ADMIN_PASSWORD });
  token = ((await login.json()) as { access_token: string }).access_token;
  for (const [name, at] of Object.entries(PLACES)) {
    expect((await api("POST", "/network/locations", { name, ...at })).status).toBe(201);
  }
  // Each site sources its own /24; Paris sends Tokyo ten times what Tokyo sends back; the lab
  // (no coordinates) sources one /24 of its own.
  await report("paris-1", "paris", [
    { prefix: "10.1.0.0/24", dir: "src", bytes: 50_000 },
    { prefix: "10.2.0.0/24", dir: "dst", bytes: 40_000 },
  ]);
  await report("tokyo-1", "tokyo", [
    { prefix: "10.2.0.0/24", dir: "src", bytes: 9_000 },
    { prefix: "10.1.0.0/24", dir: "dst", bytes: 4_000 },
  ]);
  await report("lab-1", "lab", [{ prefix: "10.9.0.0/24", dir: "src", bytes: 700 }]);
  // The maintainer (every 0.5 s) rolls the minutes up, learns the map and attributes flows.
  await until(
    "two flows rolled up",
    async () => {
      const response = await api("GET", "/network/traffic?bucket=hour");
      const { flows } = (await response.json()) as { flows: unknown[] };
      return flows.length === 2 ? true : undefined;
    },
    30_000,
  );
  admin = await openWatchedPage(browser);
  await logIn(admin.page, `${collector.httpUrl}/#/network`, "admin", ADMIN_PASSWORD);
}, 120_000);

afterAll(async () => {
  for (const end of streams) end();
  await browser?.close();
  await collector?.stop();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

describe("the Network page against a real collector", () => {
  it("places locations by coordinates, sizes traffic lines, and lists those without coordinates", async () => {
    const { page } = admin;
    await page.getByRole("heading", { name: "Network", level: 1 }).waitFor();
    const paris = await dot(page, "paris");
    const tokyo = await dot(page, "tokyo");
    const sydney = await dot(page, "sydney");
    // East is right, north is up, on an equirectangular projection (one unit per degree).
    expect(tokyo.x).toBeGreaterThan(paris.x);
    expect(sydney.x).toBeGreaterThan(tokyo.x);
    expect(paris.y).toBeLessThan(tokyo.y);
    expect(tokyo.y).toBeLessThan(sydney.y);
    expect(tokyo.x - paris.x).toBeCloseTo(139.69 - 2.35, 1);
    // Paris sent Tokyo more than Tokyo sent back: a wider line.
    expect(await flowWidth(page, "paris", "tokyo")).toBeGreaterThan(await flowWidth(page, "tokyo", "paris"));
    expect(await page.locator('g.dot[data-location="paris"]').getAttribute("data-status")).toBe("online");
    expect(await page.locator('g.dot[data-location="sydney"]').getAttribute("data-status")).toBe("none");
    const unplaced = page.getByRole("list", { name: "Locations without coordinates" });
    expect(
      await unplaced.locator("li").evaluateAll((li) => li.map((l) => l.getAttribute("data-location"))),
    ).toEqual(["lab"]);
    expect(await unplaced.textContent()).toContain("1 online");

    // Keyboard: Tab reaches a dot, and focusing it shows its details.
    await page.locator('g.dot[data-location="paris"]').focus();
    const details = page.locator("pf-network-map .details");
    await expect.poll(() => details.textContent()).toContain("paris");
    expect(await details.textContent()).toContain("Sensors: 1 online");
    expect(await page.getByRole("img", { name: /^tokyo: 1 online;/ }).count()).toBe(1);
    await expect.poll(() => page.locator("svg.chart rect.bar").count()).toBeGreaterThan(0);
    expect(admin.problems()).toEqual([]);
  });

  it("answers an IP lookup and filters the subnets table", async () => {
    const { page } = admin;
    await page.getByLabel("IP address or network").fill("10.2.0.7");
    await page.getByRole("button", { name: "Look up" }).click();
    const result = page.getByRole("table", { name: "Lookup result" });
    await expect.poll(() => result.locator("tbody tr").count()).toBe(1);
    expect(await result.textContent()).toMatch(/tokyo\s*10\.2\.0\.0\/24\s*learned/);
    await page.getByLabel("IP address or network").fill("not-an-ip");
    await page.getByRole("button", { name: "Look up" }).click();
    await expect.poll(() => page.locator("pf-network-lookup").getByRole("alert").count()).toBe(1);

    const subnets = page.getByRole("table", { name: "Subnets", exact: true });
    await expect.poll(() => subnets.locator("tbody tr").count()).toBe(3);
    await page.getByLabel("Filter subnets").fill("10.9");
    await expect.poll(() => subnets.locator("tbody tr").count()).toBe(1);
    expect(await subnets.textContent()).toContain("lab");
    await page.getByLabel("Filter subnets").fill("tokyo");
    await expect.poll(() => subnets.locator("tbody tr").count()).toBe(1);
    await page.getByLabel("Filter subnets").fill("");
    expect(
      await page.getByRole("table", { name: "Top subnets" }).locator("tbody tr").first().textContent(),
    ).toContain("10.1.0.0/24");
    expect(admin.problems()).toEqual([]);
  });

  it("lets an admin create a location with coordinates, map a subnet by hand, and clear the cache", async () => {
    const { page } = admin;
    const form = page.getByRole("region", { name: "Manage locations" });
    await form.getByLabel("Name", { exact: true }).fill("berlin");
    await form.getByLabel("Description").fill("Second office");
    await form.getByLabel("Latitude").fill("52.52");
    await form.getByLabel("Longitude").fill("13.40");
    await form.getByRole("button", { name: "Create location" }).click();
    await expect.poll(() => page.getByText("Location berlin created.").count()).toBe(1);
    const berlin = await dot(page, "berlin");
    const paris = await dot(page, "paris");
    expect(berlin.x).toBeGreaterThan(paris.x);
    expect(berlin.y).toBeLessThan(paris.y);

    const entries = page.getByRole("region", { name: "Manual subnet entries" });
    await entries.getByLabel("Prefix", { exact: true }).fill("10.50.0.0/16");
    await entries.getByLabel("Location for the prefix").selectOption("berlin");
    await entries.getByRole("button", { name: "Add entry" }).click();
    await expect.poll(() => page.getByText("10.50.0.0/16 mapped to berlin.").count()).toBe(1);
    await page.getByLabel("IP address or network").fill("10.50.3.4");
    await page.getByRole("button", { name: "Look up" }).click();
    await expect
      .poll(() => page.getByRole("table", { name: "Lookup result" }).textContent())
      .toMatch(/berlin\s*10\.50\.0\.0\/16\s*manual/);

    await entries.getByRole("button", { name: "Clear lookup cache" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Clear cache" }).click();
    await expect.poll(() => page.getByText("Lookup cache cleared.").count()).toBe(1);

    // A refusal is a toast, not a broken page: berlin exists already.
    await form.getByLabel("Name", { exact: true }).fill("berlin");
    await form.getByRole("button", { name: "Create location" }).click();
    await expect
      .poll(() =>
        page
          .getByRole("alert")
          .filter({ hasText: /berlin/ })
          .count(),
      )
      .toBeGreaterThan(0);
    const audit = await (await api("GET", "/admin/audit")).text();
    expect(audit).toContain("location.create");
    expect(audit).toContain("network.clear_cache");
    expect(admin.problems()).toEqual([]);
  });

  it("shows a viewer the map and lookup but no admin controls", async () => {
    const created = await api("POST", "/admin/users", {
      username: "vera",
      password: "vera-password-1",
      role: "viewer",
    });
    expect(created.status).toBe(201);
    const viewer = await openWatchedPage(browser);
    await logIn(viewer.page, `${collector.httpUrl}/#/network`, "vera", "vera-password-1");
    await dot(viewer.page, "tokyo");
    expect(await viewer.page.getByLabel("IP address or network").count()).toBe(1);
    expect(await viewer.page.getByRole("region", { name: "Manage locations" }).count()).toBe(0);
    expect(await viewer.page.getByRole("button", { name: "Clear lookup cache" }).count()).toBe(0);
    expect(await viewer.page.locator("pf-network-admin").count()).toBe(0);
    expect(viewer.problems()).toEqual([]);
    await viewer.close();
  });
});
