import { describe, expect, it } from "vitest";
import { loadLibpcap } from "./libpcap.js";

describe("loadLibpcap", () => {
  it("loads the real cap addon and lists devices through libpcap", async () => {
    const status = await loadLibpcap();
    // CI installs libpcap-dev, so the addon must be there; a broken build fails here loudly.
    expect(status.available).toBe(true);
    if (!status.available) return;
    const devices = status.cap.Cap.deviceList();
    expect(devices.map((device) => device.name)).toContain("lo");
    expect(status.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("degrades with a clear reason when the addon is missing", async () => {
    const status = await loadLibpcap("cap-addon-that-is-not-installed");
    expect(status.available).toBe(false);
    if (status.available) return;
    expect(status.reason).toMatch(
      /^live capture unavailable: the optional 'cap' addon \(libpcap\) could not be loaded/,
    );
    expect(status.reason).toContain("Existing rings are still served");
  });
});
