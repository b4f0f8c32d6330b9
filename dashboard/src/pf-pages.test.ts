import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "../../tests/support/browser.js";
import {
  type DashboardCollector,
  ensureDashboardBuilt,
  startDashboardCollector,
} from "../../tests/support/dashboard-collector.js";
import { logIn, openWatchedPage, type WatchedPage } from "../../tests/support/dashboard-pages.js";

// The pages of the real bundle in real Chromium against a real collector (in-process, PGlite),
// with sensors put in through its SensorIngest gRPC stream: sensors and live status, sensor
// detail, preferences with avatar, and user administration.

const ADMIN_PASSWORD = "dashboard-admin-pw";
// A 1×1 PNG: the collector checks avatars by content.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64",
);

let fleet: DashboardCollector;
let browser: Browser;
let admin: WatchedPage;

/** Status pill text of a sensor's row. */
function statusOf(name: string): Promise<string | null> {
  return admin.page.locator(`tr[data-sensor="${name}"] .pill`).textContent();
}

beforeAll(async () => {
  await ensureDashboardBuilt();
  [fleet, browser] = await Promise.all([startDashboardCollector(ADMIN_PASSWORD), launchBrowser()]);
  await fleet.heartbeat("edge-1", { location: "paris", devices: ["eth0", "eth1"] });
  await fleet.heartbeat("edge-2", { location: "paris", diskUsedPercent: 97 });
  await fleet.heartbeat("core-1", { location: "berlin" });
  admin = await openWatchedPage(browser);
  await logIn(admin.page, `${fleet.httpUrl}/#/sensors`, "admin", ADMIN_PASSWORD);
});

afterAll(async () => {
  await browser?.close();
  await fleet?.stop();
});

describe("dashboard pages against a real collector", () => {
  it("lists the ingested sensors with status, reasons and figures, and filters them", async () => {
    const { page } = admin;
    const table = page.getByRole("table", { name: "Sensors" });
    await table.waitFor();
    await expect.poll(() => table.locator("tbody tr").count()).toBe(3);
    expect(await statusOf("edge-1")).toBe("online");
    expect(await statusOf("edge-2")).toBe("degraded");
    expect(await page.locator('tr[data-sensor="edge-2"] .reasons').textContent()).toMatch(/disk/i);
    const row = await page.locator('tr[data-sensor="edge-1"]').textContent();
    expect(row).toContain("paris");
    expect(row).toMatch(/\d+ s ago/);
    expect(row).toContain("→");
    expect(row).toContain("3.0 d");
    expect(row).toContain("40 %");
    expect(await page.locator('[data-count="total"]').textContent()).toBe("3");
    expect(await page.locator('[data-count="degraded"]').textContent()).toBe("1");

    await page.getByLabel("Location filter").selectOption("berlin");
    await expect.poll(() => table.locator("tbody tr").count()).toBe(1);
    await page.getByLabel("Location filter").selectOption("");
    await page.getByLabel("Status filter").selectOption("degraded");
    await expect.poll(() => table.locator("tbody tr").count()).toBe(1);
    expect(await statusOf("edge-2")).toBe("degraded");
    await page.getByLabel("Status filter").selectOption("");
    expect(admin.problems()).toEqual([]);
  });

  it("shows a status change live, without reloading", async () => {
    const { page } = admin;
    await expect.poll(() => page.getByText("Updates: live").count()).toBe(1);
    await page.evaluate(() => {
      (window as unknown as { marker: boolean }).marker = true;
    });
    await fleet.heartbeat("edge-1", { location: "paris", devices: ["eth0", "eth1"], diskUsedPercent: 98 });
    await expect.poll(() => statusOf("edge-1")).toBe("degraded");
    await expect.poll(() => page.locator('[data-count="degraded"]').textContent()).toBe("2");
    // Same document: the change came over the WebSocket, not from a reload.
    expect(await page.evaluate(() => (window as unknown as { marker?: boolean }).marker)).toBe(true);
    expect(admin.problems()).toEqual([]);
  });

  it("opens a sensor's detail: stores, devices, capture, tasks and activity", async () => {
    const { page } = admin;
    await page.getByRole("link", { name: "edge-1" }).click();
    await expect.poll(() => page.evaluate(() => window.location.hash)).toBe("#/sensors/edge-1");
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("edge-1");
    const devices = page.getByRole("table", { name: "Devices" });
    expect(
      await devices.locator("tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-device"))),
    ).toEqual(["eth0", "eth1"]);
    expect(await devices.textContent()).toContain("10,000 Mb/s");
    expect(await page.getByRole("table", { name: "Stores" }).textContent()).toContain("/var/pcap");
    expect(await page.getByRole("table", { name: "Capture" }).textContent()).toContain("eth0");
    expect(await page.getByText("Idle: no tasks running.").count()).toBe(1);
    const activity = await page.getByRole("table", { name: "Recent activity" }).textContent();
    expect(activity).toMatch(/online\s*→\s*degraded/);
    await page.getByRole("link", { name: "← All sensors" }).click();
    await page.getByRole("table", { name: "Sensors" }).waitFor();
    expect(admin.problems()).toEqual([]);
  });

  it("leaves a live page while its feed is still connecting without a browser error", async () => {
    const { page } = admin;
    // Leave the sensors page at growing delays after entering it, so some leaves fall between
    // `new WebSocket` and its open event: the feed must then close cleanly once it opens.
    for (let delay = 0; delay < 40; delay += 2) {
      await page.evaluate(async (ms) => {
        window.location.hash = "#/sensors";
        await new Promise((resolve) => setTimeout(resolve, ms));
        window.location.hash = "#/preferences";
      }, delay);
    }
    await page.evaluate(() => {
      window.location.hash = "#/sensors";
    });
    await expect.poll(() => page.getByText("Updates: live").count()).toBe(1);
    expect(admin.problems()).toEqual([]);
  });

  it("saves preferences, applies theme, density and time zone, and uploads an avatar", async () => {
    const { page } = admin;
    await page.getByRole("link", { name: "admin (admin): preferences" }).click();
    await page.getByRole("heading", { name: "Preferences" }).waitFor();
    const display = page.getByRole("region", { name: "Display" });
    await display.getByLabel("Theme").selectOption("dark");
    await display.getByLabel("Time zone").fill("Asia/Tokyo");
    await display.getByLabel("Default location").selectOption("berlin");
    await display.getByLabel("Table density").selectOption("compact");
    await display.getByRole("button", { name: "Save preferences" }).click();
    await expect.poll(() => page.getByText("Preferences saved.").count()).toBe(1);
    await expect.poll(() => page.locator("pf-app").getAttribute("theme")).toBe("dark");
    expect(await page.locator("pf-app").getAttribute("density")).toBe("compact");

    // Too large for the collector: refused before upload, with the limit named.
    const avatar = page.locator('input[type="file"]');
    await avatar.setInputFiles({ name: "big.png", mimeType: "image/png", buffer: Buffer.alloc(300 * 1024) });
    expect(await page.getByRole("alert").textContent()).toContain("the limit is 256 KB");
    await avatar.setInputFiles({ name: "me.png", mimeType: "image/png", buffer: PNG });
    await page.getByRole("img", { name: "Avatar preview" }).waitFor();
    await page.getByRole("button", { name: "Upload avatar" }).click();
    await expect.poll(() => page.getByText("Avatar updated.").count()).toBe(1);
    await page.locator("a.user img").waitFor();
    const stored = await fleet.api("GET", "/api/v1/preferences/avatar", {
      token: await fleet.login("admin", ADMIN_PASSWORD),
    });
    expect(Buffer.from(await stored.arrayBuffer())).toEqual(PNG);

    // The sensors page starts on the default location and shows times in Tokyo (UTC+9).
    await page.getByRole("link", { name: "Sensors" }).click();
    const table = page.getByRole("table", { name: "Sensors" });
    await expect.poll(() => table.locator("tbody tr").count()).toBe(1);
    const title = await page.locator('tr[data-sensor="core-1"] td[title]').getAttribute("title");
    const heartbeat = await fleet.api("GET", "/api/v1/sensors", {
      token: await fleet.login("admin", ADMIN_PASSWORD),
    });
    const { sensors } = (await heartbeat.json()) as {
      sensors: { name: string; last_heartbeat_at: string }[];
    };
    const at = Date.parse(sensors.find((s) => s.name === "core-1")?.last_heartbeat_at ?? "");
    const tokyo = new Date(at + 9 * 3_600_000).toISOString().replace("T", " ").slice(0, 19);
    expect(title).toBe(tokyo);
    expect(admin.problems()).toEqual([]);
  });

  it("lets an admin create a user who can then log in, change a role, and see the audit log", async () => {
    const { page } = admin;
    await page.getByRole("link", { name: "Admin", exact: true }).click();
    const form = page.getByRole("region", { name: "Add a user" });
    await form.getByLabel("Username").fill("carol");
    await form.getByLabel("Password").fill("carol-password-1");
    await form.getByLabel("Role").selectOption("viewer");
    await page.getByRole("button", { name: "Create user" }).click();
    await expect.poll(() => page.getByText("User carol created.").count()).toBe(1);
    await page.locator('tr[data-user="carol"]').waitFor();

    await page.getByLabel("Role of carol").selectOption("analyst");
    await page.getByRole("dialog").getByRole("button", { name: "Change role" }).click();
    await expect.poll(() => page.getByText("carol is now analyst.").count()).toBe(1);

    const carol = await openWatchedPage(browser);
    await logIn(carol.page, `${fleet.httpUrl}/`, "carol", "carol-password-1");
    expect(await carol.page.getByRole("link", { name: "carol (analyst): preferences" }).isVisible()).toBe(
      true,
    );
    expect(carol.problems()).toEqual([]);
    await carol.close();

    // Deleting needs a confirmation; cancelling keeps the user.
    const carolRow = page.locator('tr[data-user="carol"]');
    await carolRow.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
    expect(await carolRow.count()).toBe(1);

    const dialog = page.getByRole("dialog");
    await carolRow.getByRole("button", { name: "Reset password" }).click();
    await dialog.getByLabel(/New password/).fill("carol-password-2");
    await dialog.getByRole("button", { name: "Reset password" }).click();
    await expect.poll(() => page.getByText("Password of carol reset.").count()).toBe(1);
    const relogin = await fleet.api("POST", "/api/v1/login", {
      body: { username: "carol", password: "carol-password-2" },
    });
    expect(relogin.status).toBe(200);
    await carolRow.getByRole("button", { name: "Disable" }).click();
    await dialog.getByRole("button", { name: "Disable" }).click();
    await expect.poll(() => carolRow.locator(".pill").textContent()).toBe("disabled");
    await carolRow.getByRole("button", { name: "Delete" }).click();
    await dialog.getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => carolRow.count()).toBe(0);
    await expect.poll(() => page.getByText("carol deleted.").count()).toBe(1);

    await page.getByRole("link", { name: "Audit log" }).click();
    const audit = page.getByRole("table", { name: "Audit entries" });
    await expect.poll(() => audit.textContent()).toContain("user.create");
    expect(await audit.textContent()).toContain("user.update");
    expect(await audit.textContent()).toContain("user.delete");

    await page.getByRole("link", { name: "System & storage" }).click();
    await expect.poll(() => page.getByRole("table", { name: "Tables" }).textContent()).toContain("users");

    await page.getByRole("link", { name: "Logs" }).click();
    const lines = page.getByRole("table", { name: "Log lines" });
    await lines.waitFor();
    await page.getByLabel("Contains").fill("collector running");
    await page.getByLabel("Contains").press("Enter");
    await expect.poll(() => lines.locator("tbody tr").count()).toBe(1);
    expect(admin.problems()).toEqual([]);
  });
});
