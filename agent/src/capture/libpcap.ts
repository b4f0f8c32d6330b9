/**
 * Optional access to libpcap through the `cap` native addon. `cap` is an optional dependency:
 * on a host without libpcap (or where its build failed) the agent still serves existing rings,
 * and anything that needs live capture learns why it is unavailable from one clear message.
 */

/** A network device as libpcap lists it. */
export interface LibpcapDevice {
  readonly name: string;
  readonly description?: string;
  readonly addresses: ReadonlyArray<{ readonly addr?: string; readonly netmask?: string }>;
  readonly flags?: string;
}

/** The part of the `cap` module pcapfleet uses. */
export interface CapModule {
  readonly Cap: {
    new (): unknown;
    deviceList(): LibpcapDevice[];
  };
}

/** Whether live capture can be used here, and why not when it cannot. */
export type LibpcapStatus =
  | { readonly available: true; readonly cap: CapModule; readonly version: string }
  | { readonly available: false; readonly reason: string };

/**
 * Loads the `cap` addon once. Resolves to `{available: false, reason}` instead of throwing
 * when the addon is not installed or its libpcap cannot be loaded.
 * @param specifier module to load; tests pass a missing one to exercise the fallback.
 */
export async function loadLibpcap(specifier = "cap"): Promise<LibpcapStatus> {
  let loaded: unknown;
  try {
    loaded = await import(specifier);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message.split("\n")[0] : String(cause);
    return {
      available: false,
      reason:
        `live capture unavailable: the optional 'cap' addon (libpcap) could not be loaded (${detail}); ` +
        "install libpcap-dev and run `npm rebuild cap` to enable it. Existing rings are still served.",
    };
  }
  const module = ((loaded as { default?: unknown }).default ?? loaded) as Partial<CapModule>;
  if (typeof module.Cap?.deviceList !== "function") {
    return {
      available: false,
      reason: "live capture unavailable: the 'cap' module does not look like node-cap",
    };
  }
  return { available: true, cap: module as CapModule, version: await capVersion(specifier) };
}

async function capVersion(specifier: string): Promise<string> {
  try {
    const { createRequire } = await import("node:module");
    const manifest = createRequire(import.meta.url)(`${specifier}/package.json`) as { version?: string };
    return manifest.version ?? "unknown";
  } catch {
    return "unknown";
  }
}
