/**
 * Test support for the dashboard's page tests in real Chromium: a fresh page that records the
 * page's own console errors and uncaught exceptions, and logging in through the login form.
 */
import type { Browser, BrowserContextOptions, Page } from "playwright-core";

/** A page and what went wrong in it. */
export interface WatchedPage {
  readonly page: Page;
  /**
   * Console errors and warnings and uncaught exceptions, except Chromium's own line for each
   * failed HTTP status (a 401 for a bad password, a 403 for a viewer are expected answers).
   */
  problems(): string[];
  close(): Promise<void>;
}

/** Opens a page in a fresh context (own sessionStorage, so one logged-in user per page). */
export async function openWatchedPage(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(7_000);
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(message.text());
  });
  return {
    page,
    problems: () => problems.filter((text) => !text.startsWith("Failed to load resource")),
    close: () => context.close(),
  };
}

/** Opens `url` and logs in through the form; resolves once the navigation shows. */
export async function logIn(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("navigation", { name: "Sections" }).waitFor();
}
