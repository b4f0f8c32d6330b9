import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "../../tests/support/browser.js";
import {
  type DashboardCollector,
  ensureDashboardBuilt,
  startDashboardCollector,
} from "../../tests/support/dashboard-collector.js";
import { logIn, openWatchedPage } from "../../tests/support/dashboard-pages.js";

// The shell of the real bundle (dashboard/dist) in real Chromium, served by a real collector
// started in-process on PGlite: login, navigation by role, theme, logout and session expiry.

const ADMIN_PASSWORD = "dashboard-admin-pw";
const VIEWER_PASSWORD = "viewer-password-1";

let fleet: DashboardCollector;
let browser: Browser;
let adminToken = "";

/** Sum of the red, green and blue channels of pf-app's background: low is dark. */
function backgroundLevel(page: Page): Promise<number> {
  return page.evaluate(() => {
    const app = document.querySelector("pf-app");
    const channels = app ? getComputedStyle(app).backgroundColor.match(/\d+/g) : null;
    return (channels ?? []).slice(0, 3).reduce((sum, channel) => sum + Number(channel), 0);
  });
}

function navLinks(page: Page): Promise<string[]> {
  return page.getByRole("navigation", { name: "Sections" }).getByRole("link").allTextContents();
}

beforeAll(async () => {
  await ensureDashboardBuilt();
  [fleet, browser] = await Promise.all([startDashboardCollector(ADMIN_PASSWORD), launchBrowser()]);
  adminToken = await fleet.login("admin", ADMIN_PASSWORD);
  const created = await fleet.api("POST", "/api/v1/admin/users", {
    token: adminToken,
    body: { username: "vera", password: VIEWER_PASSWORD, role: "viewer" },
  });
  expect(created.status).toBe(201);
});

afterAll(async () => {
  await browser?.close();
  await fleet?.stop();
});

describe("pf-app against a real collector", () => {
  it("refuses a bad password with the collector's message, then logs in and keeps the session", async () => {
    const { page, problems, close } = await openWatchedPage(browser);
    await page.goto(`${fleet.httpUrl}/`);
    expect(await page.title()).toBe("Log in · pcapfleet");
    await page.getByLabel("Username").fill("admin");
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("invalid username or password");

    await page.getByLabel("Password").fill(ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("navigation", { name: "Sections" }).waitFor();
    expect(await navLinks(page)).toEqual(["Sensors", "Jobs", "Network", "Admin"]);
    expect(await page.getByRole("link", { name: "admin (admin): preferences" }).isVisible()).toBe(true);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Sensors");
    expect(await page.title()).toBe("Sensors · pcapfleet");
    await expect.poll(() => page.getByText("collector ok").count()).toBe(1);

    // A reload keeps the session (sessionStorage), and the route.
    await page.goto(`${fleet.httpUrl}/#/network`);
    await page.reload();
    await page.getByRole("navigation", { name: "Sections" }).waitFor();
    expect(await page.getByRole("link", { name: "Network" }).getAttribute("aria-current")).toBe("page");
    expect(problems()).toEqual([]);
    await close();
  });

  it("routes by hash: sections, admin tabs, and unknown routes fall back to Sensors", async () => {
    const { page, problems, close } = await openWatchedPage(browser);
    await logIn(page, `${fleet.httpUrl}/#/sensors`, "admin", ADMIN_PASSWORD);
    await page.getByRole("link", { name: "Jobs" }).click();
    await expect.poll(() => page.evaluate(() => window.location.hash)).toBe("#/jobs");
    await expect
      .poll(() => page.getByRole("link", { name: "Jobs" }).getAttribute("aria-current"))
      .toBe("page");
    expect(await page.title()).toBe("Jobs · pcapfleet");

    await page.evaluate(() => {
      window.location.hash = "#/admin/logs";
    });
    await expect
      .poll(() => page.getByRole("link", { name: "Admin", exact: true }).getAttribute("aria-current"))
      .toBe("page");
    await page.getByRole("table", { name: "Log lines" }).waitFor();
    await page.evaluate(() => {
      window.location.hash = "#/nowhere";
    });
    await expect.poll(() => page.getByRole("heading", { level: 1 }).first().textContent()).toBe("Sensors");
    expect(problems()).toEqual([]);
    await close();
  });

  it("switches the theme from the header and saves it as a preference", async () => {
    const { page, close } = await openWatchedPage(browser, { colorScheme: "dark" });
    await logIn(page, `${fleet.httpUrl}/`, "admin", ADMIN_PASSWORD);
    expect(await backgroundLevel(page)).toBeLessThan(150);

    await page.getByRole("button", { name: /Colour theme: system/ }).click();
    await expect.poll(() => page.locator("pf-app").getAttribute("theme")).toBe("light");
    expect(await backgroundLevel(page)).toBeGreaterThan(600);
    const saved = async () =>
      (
        (await (await fleet.api("GET", "/api/v1/preferences", { token: adminToken })).json()) as {
          theme: string;
        }
      ).theme;
    await expect.poll(saved).toBe("light");

    // Back to system for the other tests (light → dark → system).
    await page.getByRole("button", { name: /Colour theme: light/ }).click();
    await page.getByRole("button", { name: /Colour theme: dark/ }).click();
    await expect.poll(saved).toBe("system");
    await close();
  });

  it("shows a viewer no admin navigation, and the collector's 403 on the admin route", async () => {
    const { page, problems, close } = await openWatchedPage(browser);
    await logIn(page, `${fleet.httpUrl}/`, "vera", VIEWER_PASSWORD);
    expect(await navLinks(page)).toEqual(["Sensors", "Jobs", "Network"]);
    expect(await page.getByRole("link", { name: "vera (viewer): preferences" }).isVisible()).toBe(true);

    await page.evaluate(() => {
      window.location.hash = "#/admin/users";
    });
    await expect
      .poll(() => page.getByRole("alert").first().textContent())
      .toContain("You do not have permission");
    // Still logged in: a 403 is not a lost session.
    expect(await page.getByRole("button", { name: "Log out" }).isVisible()).toBe(true);
    expect(problems()).toEqual([]);
    await close();
  });

  it("logs out: back to the login page, and the session's token is revoked", async () => {
    const { page, problems, close } = await openWatchedPage(browser);
    await logIn(page, `${fleet.httpUrl}/`, "admin", ADMIN_PASSWORD);
    const token = await page.evaluate(
      () =>
        (JSON.parse(sessionStorage.getItem("pcapfleet.session") ?? "{}") as { accessToken?: string })
          .accessToken,
    );
    expect(token).toBeTypeOf("string");
    await page.getByRole("button", { name: "Log out" }).click();
    await expect.poll(() => page.getByRole("status").first().textContent()).toContain("You have logged out.");
    expect(await page.getByRole("button", { name: "Log in" }).isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem("pcapfleet.session"))).toBeNull();
    expect((await fleet.api("GET", "/api/v1/preferences", { token: token ?? "" })).status).toBe(401);
    expect(problems()).toEqual([]);
    await close();
  });

  it("returns to login with a message when the session ends (refresh refused)", async () => {
    const { page, problems, close } = await openWatchedPage(browser);
    await logIn(page, `${fleet.httpUrl}/#/network`, "vera", VIEWER_PASSWORD);
    // An admin resets vera's password: every session of hers is revoked, refresh tokens too.
    const reset = await fleet.api("PATCH", "/api/v1/admin/users/vera", {
      token: adminToken,
      body: { password: "viewer-password-2" },
    });
    expect(reset.status).toBe(200);

    await page.getByRole("link", { name: "Sensors" }).click();
    await expect
      .poll(() => page.getByRole("status").first().textContent())
      .toContain("Your session has expired. Please log in again.");
    expect(await page.title()).toBe("Log in · pcapfleet");
    expect(await page.evaluate(() => sessionStorage.getItem("pcapfleet.session"))).toBeNull();

    await page.getByLabel("Username").fill("vera");
    await page.getByLabel("Password").fill("viewer-password-2");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("navigation", { name: "Sections" }).waitFor();
    expect(problems()).toEqual([]);
    await close();
  });
});
