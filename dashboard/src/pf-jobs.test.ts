import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, startAgentProcess } from "../../tests/agent/agent-process.js";
import { writeRing } from "../../tests/agent/ring.js";
import { ensureBuilt } from "../../tests/slice/agent-bin.js";
import { launchBrowser } from "../../tests/support/browser.js";
import {
  type DashboardCollector,
  ensureDashboardBuilt,
  startDashboardCollector,
} from "../../tests/support/dashboard-collector.js";
import { logIn, openWatchedPage, type WatchedPage } from "../../tests/support/dashboard-pages.js";
import { startTcpRelay, type TcpRelay } from "../../tests/support/tcp-relay.js";
import { freePort } from "../../tests/support/wait.js";

// The job pages of the real bundle in real Chromium, against a real collector (in-process,
// PGlite) and a real `pcapfleet-agent run` on a small generated ring. The agent is dialled
// through a TCP relay so a test can hold a job mid-stream (to see it running, and to cancel
// it) and then let it finish. The one stand-in: Chromium's native save dialog cannot be driven
// headless, so where a test takes the File System Access path, `showSaveFilePicker` returns a
// real file of the origin-private file system instead of asking.

const ADMIN_PASSWORD = "jobs-admin-password";
const ANALYST = { username: "ana", password: "analyst-password-1" };
const VIEWER = { username: "vic", password: "viewer-password-1" };
// The ring starts two minutes ago: inside "last 15 min", and old enough to be fully indexed.
const START_SEC = Math.floor(Date.now() / 1000) - 120;
const WINDOW = {
  start_time: new Date((START_SEC + 1) * 1000).toISOString(),
  end_time: new Date((START_SEC + 3) * 1000).toISOString(),
};
// Bytes the relay lets through before holding a stream: well under a job's result.
const HOLD_BYTES = 100_000;
const TOKYO_MS = 9 * 3_600_000;

interface Job {
  id: string;
  status: string;
  start_time: string;
  end_time: string;
  result: { sha256: string; packets: number; bytes: number } | null;
  tasks: { id: string; sensor: string; status: string; sha256: string | null }[];
}

let work: string;
let fleet: DashboardCollector;
let browser: Browser;
let relay: TcpRelay;
let agent: AgentProcess;
let adminToken: string;
let analystToken: string;
let ana: WatchedPage;

async function json<T>(path: string, token: string, method = "GET", body?: unknown): Promise<T> {
  const response = await fleet.api(
    method,
    `/api/v1${path}`,
    body === undefined ? { token } : { token, body },
  );
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** The Tokyo wall clock of an instant, as a datetime-local input takes it. */
const tokyoWall = (iso: string): string => new Date(Date.parse(iso) + TOKYO_MS).toISOString().slice(0, 19);

/** Holds sensor A's next stream after HOLD_BYTES and waits until job `id`'s task runs there. */
async function holdRunning(id: string): Promise<void> {
  const base = relay.holdAfter(HOLD_BYTES);
  await expect
    .poll(
      async () =>
        relay.downstreamBytes() >= base + HOLD_BYTES &&
        (await json<Job>(`/jobs/${id}`, adminToken)).tasks[0]?.status === "running",
      { timeout: 30_000 },
    )
    .toBe(true);
}

const pill = (page: Page, selector: string) => page.locator(`${selector} .pill`).first().textContent();

beforeAll(async () => {
  await Promise.all([ensureDashboardBuilt(), ensureBuilt()]);
  work = await mkdtemp(join(tmpdir(), "pf-dashboard-jobs-"));
  await writeRing(join(work, "ring"), {
    files: 3,
    fileBytes: 512 * 1024,
    traffic: { start: { sec: START_SEC, nsec: 0 }, ratePps: 400, seed: 61 },
  });
  [fleet, browser] = await Promise.all([startDashboardCollector(ADMIN_PASSWORD), launchBrowser()]);
  adminToken = await fleet.login("admin", ADMIN_PASSWORD);
  for (const [user, role] of [
    [ANALYST, "analyst"],
    [VIEWER, "viewer"],
  ] as const) {
    await json("/admin/users", adminToken, "POST", { ...user, role });
  }
  analystToken = await fleet.login(ANALYST.username, ANALYST.password);
  await json("/preferences", analystToken, "PUT", { time_zone: "Asia/Tokyo" });
  const port = await freePort();
  relay = await startTcpRelay(`127.0.0.1:${port}`);
  agent = await startAgentProcess(work, {
    sensor: "sensor-a",
    location: "site-a",
    stores: [join(work, "ring")],
    stateDir: join(work, "state"),
    collector: fleet.collector.grpcAddress,
    heartbeatS: 0.5,
    quietMs: 200,
    listen: `127.0.0.1:${port}`,
    advertiseAddress: relay.address,
  });
  // expect.poll works inside tests only.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { sensors } = await json<{ sensors: { name: string; pcap_newest_at: string | null }[] }>(
      "/sensors",
      adminToken,
    );
    if (sensors.some((s) => s.name === "sensor-a" && s.pcap_newest_at !== null)) break;
    if (Date.now() > deadline) throw new Error("sensor-a did not report its ring within 30 s");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  ana = await openWatchedPage(browser);
  await logIn(ana.page, `${fleet.httpUrl}/#/jobs`, ANALYST.username, ANALYST.password);
}, 180_000);

afterAll(async () => {
  relay?.resume();
  await browser?.close();
  await agent?.stop();
  await relay?.close();
  await fleet?.stop();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe("job pages against a real collector and agent", () => {
  let jobId = "";

  it("submits a job from the form: libpcap's message for a bad filter, an estimate, then the job", async () => {
    const { page } = ana;
    await page.getByRole("link", { name: "New job" }).click();
    const form = page.getByRole("form", { name: "New job" });
    await form.waitFor();
    // The default window is the last 15 minutes, on the user's (Tokyo) wall clock.
    const defaultFrom = async () => Date.parse(`${await form.getByLabel("From").inputValue()}+09:00`);
    await expect
      .poll(async () => Math.abs(Date.now() - 15 * 60_000 - (await defaultFrom())))
      .toBeLessThan(60_000);

    await form.getByLabel("From").fill(tokyoWall(WINDOW.start_time));
    await form.getByLabel("To", { exact: true }).fill(tokyoWall(WINDOW.end_time));
    await form
      .getByRole("group", { name: "Sensors" })
      .getByLabel(/sensor-a/)
      .check();
    await form.getByLabel("Filter (tcpdump expression").fill("tcp port nonsense");
    await form.getByRole("button", { name: "Submit job" }).click();
    await expect.poll(() => form.getByRole("alert").textContent()).toMatch(/bad filter/);
    expect(await page.evaluate(() => window.location.hash)).toBe("#/jobs/new");
    expect(await form.getByLabel("Filter (tcpdump expression").getAttribute("aria-invalid")).toBe("true");

    await form.getByLabel("Filter (tcpdump expression").fill("tcp");
    await form.getByRole("button", { name: "Estimate" }).click();
    const estimate = page.getByRole("table", { name: "Estimate by sensor" });
    await estimate.waitFor();
    const row = estimate.locator('tr[data-sensor="sensor-a"]');
    expect(await row.locator(".pill").nth(1).textContent()).toBe("covered");
    expect(await row.textContent()).toContain("named in the job");
    expect(await form.getByRole("alert").count()).toBe(0);

    // Held mid-stream by the relay from the first bytes on, so the page sees it running.
    const base = relay.holdAfter(HOLD_BYTES);
    await form.getByRole("button", { name: "Submit job" }).click();
    await expect.poll(() => page.evaluate(() => window.location.hash)).toMatch(/^#\/jobs\/[0-9a-f-]{36}$/);
    jobId = (await page.evaluate(() => window.location.hash)).slice("#/jobs/".length);
    const job = await json<Job>(`/jobs/${jobId}`, analystToken);
    expect([job.start_time, job.end_time]).toEqual([WINDOW.start_time, WINDOW.end_time]);
    await expect.poll(() => relay.downstreamBytes() >= base + HOLD_BYTES, { timeout: 30_000 }).toBe(true);
    await expect.poll(() => page.locator("#job-status").textContent()).toBe("running");
    expect(ana.problems()).toEqual([]);
  });

  it("shows the job running in the list, then complete, over the WebSocket without reloading", async () => {
    const { page } = ana;
    await page.getByRole("link", { name: "← All jobs" }).click();
    const row = page.locator(`tr[data-job="${jobId}"]`);
    await row.waitFor();
    expect(await pill(page, `tr[data-job="${jobId}"]`)).toBe("running");
    await expect.poll(() => page.getByText("Updates: live").count()).toBe(1);
    await page.evaluate(() => {
      (window as unknown as { marker: boolean }).marker = true;
    });
    relay.resume();
    await expect.poll(() => pill(page, `tr[data-job="${jobId}"]`), { timeout: 30_000 }).toBe("complete");
    const job = await json<Job>(`/jobs/${jobId}`, analystToken);
    expect(await row.textContent()).toContain(`${job.result?.packets.toLocaleString("en-US")} packets`);
    expect(await row.getByRole("progressbar").getAttribute("aria-valuenow")).toBe("100");
    expect(await page.evaluate(() => (window as unknown as { marker?: boolean }).marker)).toBe(true);

    await page.getByLabel("Status filter").selectOption("failed");
    await expect.poll(() => page.getByText("No job matches the filters.").count()).toBe(1);
    await page.getByLabel("Status filter").selectOption("");
    await row.waitFor();
    expect(ana.problems()).toEqual([]);
  });

  it("shows tasks, routing and the analysis, and downloads files whose SHA-256 is the job's", async () => {
    const { page } = ana;
    const job = await json<Job>(`/jobs/${jobId}`, analystToken);
    const task = job.tasks[0];
    if (job.result === null || task?.sha256 == null) throw new Error("the job has no result");
    await page.locator(`tr[data-job="${jobId}"] a`).click();
    const tasks = page.getByRole("table", { name: "Tasks" });
    const taskRow = tasks.locator('tr[data-sensor="sensor-a"]');
    expect(await pill(page, 'tr[data-sensor="sensor-a"]')).toBe("complete");
    expect(await taskRow.locator(`[title="${task.sha256}"]`).textContent()).toBe(
      `${task.sha256.slice(0, 12)}…`,
    );
    expect(await page.getByRole("region", { name: "Sensors" }).textContent()).toContain("named in the job");
    expect(await page.locator("#result-packets").textContent()).toBe(
      job.result.packets.toLocaleString("en-US"),
    );

    // The analysis: totals, an indented protocol tree, tables, and the timeline's bars.
    await expect
      .poll(() => page.locator('[data-total="packets"]').textContent())
      .toBe(job.result.packets.toLocaleString("en-US"));
    const tree = page.getByRole("table", { name: "Protocol hierarchy" });
    expect(await tree.locator('tr[data-path="eth"]').count()).toBe(1);
    expect(await tree.locator('tr[data-path^="eth."][data-path$=".tcp"]').count()).toBeGreaterThan(0);
    expect(
      await page.getByRole("table", { name: "Top talkers" }).locator("tbody tr").count(),
    ).toBeGreaterThan(0);
    expect(
      await page.getByRole("table", { name: "Conversations" }).locator("tbody tr").count(),
    ).toBeGreaterThan(0);
    const timeline = page.getByRole("img", { name: /^Packets per 1 s/ });
    expect(await timeline.locator("rect").count()).toBeGreaterThan(0);

    // The merged PCAP the Blob way (the browsers without the File System Access API).
    await page.evaluate(() => {
      Object.defineProperty(window, "showSaveFilePicker", { value: undefined, configurable: true });
    });
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download PCAP" }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^pcapfleet-[0-9a-f]{8}-\d{8}T\d{6}Z-\d{8}T\d{6}Z\.pcap$/);
    const saved = await readFile((await download.path()) ?? "");
    expect(createHash("sha256").update(saved).digest("hex")).toBe(job.result.sha256);

    // The sensor's slice streamed to a file (the File System Access way).
    await page.evaluate(() => {
      const picker = async (options: { suggestedName: string }) =>
        (await navigator.storage.getDirectory()).getFileHandle(options.suggestedName, { create: true });
      Object.defineProperty(window, "showSaveFilePicker", { value: picker, configurable: true });
    });
    await taskRow.getByRole("button", { name: "Download the PCAP of sensor-a" }).click();
    await expect.poll(() => page.getByText(/^Saved pcapfleet-.*-sensor-a-.*\.pcap/).count()).toBe(1);
    const streamed = await page.evaluate(async () => {
      const dir = await navigator.storage.getDirectory();
      for await (const [name, handle] of dir as unknown as AsyncIterable<[string, FileSystemFileHandle]>) {
        const bytes = await (await handle.getFile()).arrayBuffer();
        const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
        return { name, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("") };
      }
      return null;
    });
    expect(streamed?.name).toMatch(/^pcapfleet-[0-9a-f]{8}-sensor-a-.*\.pcap$/);
    expect(streamed?.sha256).toBe(task.sha256);
    expect(ana.problems()).toEqual([]);
  });

  it("shows a job submitted elsewhere at once, pages with next_before, and filters to my jobs", async () => {
    const { page } = ana;
    await page.evaluate(() => {
      window.location.hash = "#/jobs";
    });
    await page.locator(`tr[data-job="${jobId}"]`).waitFor();
    await expect.poll(() => page.getByText("Updates: live").count()).toBe(1);
    // The admin's job, outside every ring: it completes at once with no data.
    const other = await json<Job>("/jobs", adminToken, "POST", {
      start_time: "2001-01-01T00:00:00Z",
      end_time: "2001-01-01T00:01:00Z",
      sensors: ["sensor-a"],
    });
    const rows = page.getByRole("table", { name: "Jobs" }).locator("tbody tr");
    await expect.poll(() => rows.first().getAttribute("data-job")).toBe(other.id);
    await expect.poll(() => pill(page, `tr[data-job="${other.id}"]`)).toBe("complete");

    await page.evaluate(() => {
      const app = document.querySelector("pf-app");
      const list = app?.shadowRoot?.querySelector<HTMLElement & { pageSize: number }>("pf-jobs-page");
      if (list) list.pageSize = 1;
    });
    await expect.poll(() => rows.count()).toBe(1);
    await page.getByRole("button", { name: "Load older jobs" }).click();
    await expect
      .poll(() => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-job"))))
      .toEqual([other.id, jobId]);
    expect(await page.getByRole("button", { name: "Load older jobs" }).count()).toBe(0);

    await page.getByLabel("Only my jobs").check();
    await expect
      .poll(() => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-job"))))
      .toEqual([jobId]);
    await page.getByLabel("Only my jobs").uncheck();
    expect(ana.problems()).toEqual([]);
  });

  it("shows a viewer the jobs without New job, Download or Cancel", async () => {
    const vic = await openWatchedPage(browser);
    const { page } = vic;
    await logIn(page, `${fleet.httpUrl}/#/jobs`, VIEWER.username, VIEWER.password);
    await page.locator(`tr[data-job="${jobId}"]`).waitFor();
    expect(await page.getByRole("link", { name: "New job" }).count()).toBe(0);
    await page.locator(`tr[data-job="${jobId}"] a`).click();
    await page.getByRole("table", { name: "Tasks" }).waitFor();
    await page.getByRole("table", { name: "Protocol hierarchy" }).waitFor();
    expect(await page.getByRole("button", { name: /Download|Cancel job/ }).count()).toBe(0);
    await page.evaluate(() => {
      window.location.hash = "#/jobs/new";
    });
    await expect
      .poll(() => page.getByRole("note").textContent())
      .toBe("Submitting jobs needs the analyst role.");
    expect(await page.getByRole("form").count()).toBe(0);
    expect(vic.problems()).toEqual([]);
    await vic.close();
  });

  it("cancels a running job after confirming, and the page follows", async () => {
    const { page } = ana;
    const { id } = await json<Job>("/jobs", analystToken, "POST", { ...WINDOW, sensors: ["sensor-a"] });
    await holdRunning(id);
    await page.evaluate((jobId) => {
      window.location.hash = `#/jobs/${jobId}`;
    }, id);
    await expect.poll(() => page.locator("#job-status").textContent()).toBe("running");

    const dialog = page.getByRole("dialog");
    await page.getByRole("button", { name: "Cancel job" }).click();
    await dialog.getByRole("button", { name: "Keep it running" }).click();
    expect((await json<Job>(`/jobs/${id}`, analystToken)).status).toBe("running");

    await page.getByRole("button", { name: "Cancel job" }).click();
    await dialog.getByRole("button", { name: "Cancel job" }).click();
    await expect.poll(() => page.locator("#job-status").textContent()).toBe("cancelled");
    await expect.poll(() => page.getByText(`Job ${id.slice(0, 8)} cancelled.`).count()).toBe(1);
    expect(await pill(page, 'tr[data-sensor="sensor-a"]')).toBe("cancelled");
    expect(await page.getByRole("button", { name: "Cancel job" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Download PCAP" }).count()).toBe(0);
    relay.resume();
    expect((await json<Job>(`/jobs/${id}`, analystToken)).status).toBe("cancelled");
    expect(ana.problems()).toEqual([]);
  });
});
