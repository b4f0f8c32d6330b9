import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@pcapfleet/core";
import { describe, expect, it } from "vitest";
import { captureConfigSchema, captureEntrySchema } from "./capture-config.js";
import { createCaptureManager } from "./capture-manager.js";
import { errorLines, parseStderrLine, writerArgs } from "./tcpdump-process.js";

describe("parseStderrLine", () => {
  it("reads tcpdump 4.99's counters, from SIGUSR1 (one line) and at exit (one per line)", () => {
    expect(
      parseStderrLine(
        "tcpdump: 3 packets captured, 1 packet received by filter, 12 packets dropped by kernel",
      ),
    ).toEqual({ kind: "stats", counters: { captured: 3, receivedByFilter: 1, droppedByKernel: 12 } });
    expect(parseStderrLine("1 packet captured")).toEqual({ kind: "stats", counters: { captured: 1 } });
    expect(parseStderrLine("7 packets dropped by interface")).toEqual({
      kind: "stats",
      counters: { droppedByInterface: 7 },
    });
    expect(
      parseStderrLine(
        "tcpdump: listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes",
      ),
    ).toEqual({
      kind: "listening",
    });
    expect(parseStderrLine("tcpdump: pfx0: No such device exists")).toEqual({
      kind: "error",
      message: "pfx0: No such device exists",
    });
    expect(parseStderrLine("(No such device exists)")).toEqual({ kind: "other" });
    expect(errorLines("tcpdump: can't parse filter expression: syntax error\n")).toBe(
      "can't parse filter expression: syntax error",
    );
  });

  it("builds a writer command that streams nanosecond pcap to stdout", () => {
    const config = captureEntrySchema.parse({ interface: "eth1", dir: "/ring", filter: "not port 22" });
    expect(writerArgs(config)).toEqual([
      "-i",
      "eth1",
      "-w",
      "-",
      "-U",
      "-n",
      "-s",
      "262144",
      "-B",
      "32768",
      "--time-stamp-precision=nano",
      "--",
      "not port 22",
    ]);
  });
});

describe("captureConfigSchema", () => {
  it("applies defaults and refuses two captures writing the same files", () => {
    const [entry] = captureConfigSchema.parse([{ interface: "eth0", dir: "/ring" }]);
    expect(entry).toMatchObject({
      snaplen: 262_144,
      rotateBytes: 256 * 2 ** 20,
      rotateSeconds: 300,
      maxDiskPercent: 90,
    });
    expect(entry?.maxAgeHours).toBeUndefined();
    const clash = captureConfigSchema.safeParse([
      { interface: "eth0", dir: "/ring" },
      { interface: "eth1", dir: "/ring/", filePrefix: "eth0" },
    ]);
    expect(clash.success).toBe(false);
    expect(clash.error?.issues[0]?.message).toBe(
      "capture 1 writes the same files as capture 0 (same dir and filePrefix)",
    );
    expect(captureConfigSchema.safeParse([{ interface: "-w", dir: "/ring" }]).success).toBe(false);
    expect(
      captureConfigSchema.safeParse([{ interface: "eth0", dir: "/ring", filePrefix: "../x" }]).success,
    ).toBe(false);
  });
});

describe("createCaptureManager without tcpdump", () => {
  it("says capture is unavailable and reports it per interface, without throwing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pf-nocap-"));
    try {
      const manager = createCaptureManager({
        captures: captureConfigSchema.parse([{ interface: "eth0", dir }]),
        isPinned: () => false,
        log: createLogger({ name: "test", level: "silent" }),
        tcpdumpPath: join(dir, "no-tcpdump-here"),
      });
      await manager.start();
      const reason = manager.unavailableReason();
      expect(reason).toBe(
        `live capture unavailable: tcpdump (libpcap) not found at '${join(dir, "no-tcpdump-here")}'; install tcpdump to enable own capture. Existing rings are still served.`,
      );
      expect(manager.capturingInterfaces()).toEqual([]);
      expect(manager.stats()).toEqual([
        {
          interface: "eth0",
          packetsReceived: 0,
          packetsDroppedKernel: 0,
          packetsDroppedInterface: 0,
          packetsWritten: 0,
          bytesWritten: 0,
          filesWritten: 0,
          running: false,
          error: reason,
        },
      ]);
      await manager.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
