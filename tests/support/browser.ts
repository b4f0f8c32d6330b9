import { type Browser, chromium } from "playwright-core";

/**
 * Chromium flags for page tests. Beyond headless basics they switch off everything that phones
 * home (component updates, sync, background networking, QUIC probes): test machines have no
 * network, and those attempts otherwise flood the log with refused connections and slow start.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Options of {@link launchBrowser}. */
export interface LaunchBrowserOptions {
  /** Chromium binary; default `$CHROMIUM_PATH`, else the Debian package's `/usr/bin/chromium`. */
  executablePath: string;
  /** Flags added after {@link CHROMIUM_ARGS}. */
  args: readonly string[];
}

/**
 * Starts a real headless Chromium through playwright-core for page tests. The caller closes it
 * (`browser.close()` in `afterAll`). Pages should only load loopback addresses.
 */
export async function launchBrowser(options: Partial<LaunchBrowserOptions> = {}): Promise<Browser> {
  const executablePath = options.executablePath ?? process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
  return chromium.launch({
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
}
