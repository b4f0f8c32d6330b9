import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, resolve, sep } from "node:path";
import type { Browser, BrowserContextOptions, Page } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { launchBrowser } from "../../tests/support/browser.js";

// The real bundle (Vite's production build of index.html) in real Chromium. The collector does
// not serve pages yet, so a small node:http server stands in for it: the built files, plus a
// /api/v1/health route whose answer the tests switch.

const dashboardDir = resolve(import.meta.dirname, "..");
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".map": "application/json",
};

let tempDir = "";
let server: Server | undefined;
let browser: Browser | undefined;
let baseUrl = "";
let healthy = true;

function serve(distDir: string): Server {
  return createServer((request, response) => {
    const { pathname } = new URL(request.url ?? "/", "http://localhost");
    if (pathname === "/api/v1/health") {
      response.writeHead(healthy ? 200 : 503, {
        "content-type": "application/json",
        "cache-control": "no-store",
      });
      response.end(JSON.stringify(healthy ? { status: "ok" } : { code: "unavailable", message: "stopping" }));
      return;
    }
    const file = resolve(distDir, `.${pathname === "/" ? "/index.html" : decodeURIComponent(pathname)}`);
    if (!file.startsWith(distDir + sep)) {
      response.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => response.writeHead(200, { "content-type": CONTENT_TYPES[extname(file)] ?? "" }).end(body),
      () => response.writeHead(404).end(),
    );
  });
}

/** A fresh page whose console errors, warnings and uncaught exceptions land in `problems`. */
async function openPage(options: BrowserContextOptions = {}): Promise<{ page: Page; problems: string[] }> {
  if (browser === undefined) throw new Error("browser not launched");
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(5_000);
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(message.text());
  });
  return { page, problems };
}

/** Sum of the red, green and blue channels of pf-app's background: low is dark. */
function backgroundLevel(page: Page): Promise<number> {
  return page.evaluate(() => {
    const app = document.querySelector("pf-app");
    const channels = app ? getComputedStyle(app).backgroundColor.match(/\d+/g) : null;
    return (channels ?? []).slice(0, 3).reduce((sum, channel) => sum + Number(channel), 0);
  });
}

beforeAll(async () => {
  tempDir = await mkdtemp(join(tmpdir(), "pcapfleet-dashboard-"));
  const distDir = join(tempDir, "dist");
  // Vite picks Lit's development build when NODE_ENV is anything but "production", and vitest
  // sets it to "test"; the pages under test must be the bundle the collector will serve.
  const nodeEnv = process.env["NODE_ENV"];
  process.env["NODE_ENV"] = "production";
  try {
    await build({ root: dashboardDir, logLevel: "warn", build: { outDir: distDir, emptyOutDir: true } });
  } finally {
    if (nodeEnv === undefined) delete process.env["NODE_ENV"];
    else process.env["NODE_ENV"] = nodeEnv;
  }
  server = serve(distDir);
  const listening = server;
  await new Promise<void>((done) => listening.listen(0, "127.0.0.1", done));
  baseUrl = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  const listening = server;
  if (listening) await new Promise((done) => listening.close(done));
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
});

describe("pf-app shell", () => {
  beforeEach(() => {
    healthy = true;
  });

  it("renders the product name and the four sections in its shadow DOM", async () => {
    const { page, problems } = await openPage();
    await page.goto(`${baseUrl}/`);
    await page.getByRole("link", { name: "Admin" }).waitFor();

    const shell = await page.evaluate(() => {
      const root = document.querySelector("pf-app")?.shadowRoot;
      return {
        brand: root?.querySelector("header")?.textContent?.includes("pcapfleet") ?? false,
        links: [...(root?.querySelectorAll("nav a") ?? [])].map((a) => [
          a.textContent?.trim(),
          a.getAttribute("href"),
        ]),
        current: root?.querySelector('nav a[aria-current="page"]')?.textContent?.trim(),
        heading: root?.querySelector("main h1")?.textContent,
      };
    });
    expect(shell).toEqual({
      brand: true,
      links: [
        ["Sensors", "#/sensors"],
        ["Jobs", "#/jobs"],
        ["Network", "#/network"],
        ["Admin", "#/admin"],
      ],
      current: "Sensors",
      heading: "Sensors",
    });
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("routes by hash: clicking Jobs selects it", async () => {
    const { page, problems } = await openPage();
    await page.goto(`${baseUrl}/#/sensors`);
    const jobs = page.getByRole("link", { name: "Jobs" });
    await jobs.click();

    await expect.poll(() => page.evaluate(() => window.location.hash)).toBe("#/jobs");
    await expect.poll(() => jobs.getAttribute("aria-current")).toBe("page");
    expect(await page.getByRole("link", { name: "Sensors" }).getAttribute("aria-current")).toBeNull();
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Jobs");
    expect(await page.title()).toBe("Jobs · pcapfleet");

    // Deeper routes belong to their section; unknown ones fall back to Sensors.
    await page.evaluate(() => {
      window.location.hash = "#/admin/users";
    });
    await expect
      .poll(() => page.getByRole("link", { name: "Admin" }).getAttribute("aria-current"))
      .toBe("page");
    await page.evaluate(() => {
      window.location.hash = "#/nowhere";
    });
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("Sensors");
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("shows the collector's health and re-checks it every 15 s", async () => {
    const { page, problems } = await openPage();
    await page.clock.install();
    await page.addInitScript(() => {
      const seen: string[] = [];
      Object.assign(window, { healthEvents: seen });
      document.addEventListener("health-change", (event) => {
        seen.push((event as CustomEvent<{ status: string }>).detail.status);
      });
    });
    const events = (): Promise<unknown> =>
      page.evaluate(() => (window as unknown as { healthEvents: string[] }).healthEvents);
    await page.goto(`${baseUrl}/`);
    const badge = page.getByRole("status");

    await expect.poll(() => badge.textContent()).toContain("collector ok");
    expect(await badge.getAttribute("aria-live")).toBe("polite");

    healthy = false;
    await page.clock.fastForward(15_000);
    await expect.poll(() => badge.textContent()).toContain("collector unreachable");

    healthy = true;
    await page.clock.fastForward(15_000);
    await expect.poll(() => badge.textContent()).toContain("collector ok");
    expect(await events()).toEqual(["ok", "unreachable", "ok"]);
    // Chromium logs the 503 itself; anything else would be the page's own.
    expect(problems.filter((text) => !text.includes("503"))).toEqual([]);
    await page.context().close();
  });

  it("follows the system colour scheme unless the theme property says otherwise", async () => {
    const { page } = await openPage({ colorScheme: "dark" });
    await page.goto(`${baseUrl}/`);
    await page.getByRole("link", { name: "Sensors" }).waitFor();
    expect(await backgroundLevel(page)).toBeLessThan(150);

    await page.getByRole("button", { name: /Colour theme: system/ }).click();
    await expect.poll(() => page.locator("pf-app").getAttribute("theme")).toBe("light");
    expect(await backgroundLevel(page)).toBeGreaterThan(600);

    await page.emulateMedia({ colorScheme: "light" });
    await page.evaluate(() => document.querySelector("pf-app")?.setAttribute("theme", "dark"));
    await expect.poll(() => backgroundLevel(page)).toBeLessThan(150);
    await page.context().close();
  });

  it("takes a screenshot", async () => {
    const { page } = await openPage();
    await page.goto(`${baseUrl}/#/network`);
    await page.getByRole("status").getByText("collector ok").waitFor();
    const path = join(tempDir, "pf-app.png");
    await page.screenshot({ path });

    const png = await readFile(path);
    expect(png.length).toBeGreaterThan(1_000);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    await page.context().close();
  });
});
