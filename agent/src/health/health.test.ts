import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { DeviceState, listDevices, parseProcNetDev } from "./devices.js";
import { diskUsage } from "./disk-usage.js";
import { cpuPercentBetween, parseCpuTicks, sampleHostHealth } from "./host-health.js";

const run = promisify(execFile);

describe("diskUsage", () => {
  it("agrees with df for the filesystem of a directory", async () => {
    const dir = tmpdir();
    const usage = await diskUsage(dir);
    const { stdout } = await run("df", ["-B1", "--output=size,used,avail,pcent", dir]);
    const [size, used, avail, pcent] = (stdout.trim().split("\n")[1] ?? "").trim().split(/\s+/);
    expect(usage.sizeBytes).toBe(Number(size));
    // Other processes write meanwhile: allow a little drift on a busy disk.
    expect(Math.abs(usage.usedBytes - Number(used))).toBeLessThan(256 * 2 ** 20);
    expect(Math.abs(usage.freeBytes - Number(avail))).toBeLessThan(256 * 2 ** 20);
    expect(Math.abs(usage.usedPercent - Number(pcent?.replace("%", "")))).toBeLessThan(1.5);
  });

  it("names the path when it does not exist", async () => {
    await expect(diskUsage("/nonexistent/pcap/store")).rejects.toMatchObject({
      code: "not_found",
      message: "cannot read filesystem of /nonexistent/pcap/store: ENOENT",
    });
  });
});

describe("sampleHostHealth", () => {
  it("reports the host and the agent process", async () => {
    const health = await sampleHostHealth();
    expect(health.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(health.cpuPercent).toBeLessThanOrEqual(100);
    const meminfo = await readFile("/proc/meminfo", "utf8");
    const totalKb = Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1]);
    expect(health.memoryTotalBytes).toBe(totalKb * 1024);
    expect(health.memoryUsedBytes).toBeGreaterThan(0);
    expect(health.memoryUsedBytes).toBeLessThan(health.memoryTotalBytes);
    const uptime = Number((await readFile("/proc/uptime", "utf8")).split(" ")[0]);
    expect(Math.abs(health.hostUptimeSeconds - uptime)).toBeLessThan(5);
    expect(health.agentRssBytes).toBeGreaterThan(10 * 2 ** 20);
    expect(health.load1m).toBeGreaterThanOrEqual(0);
  });
});

describe("CPU use from /proc/stat", () => {
  it("reads the cpu line: idle with I/O wait, every state in the total", () => {
    const stat = ["cpu  100 5 50 800 20 3 2 10 7 0", "cpu0 50 2 25 400 10 1 1 5 3 0", "intr 12345 0 0"].join(
      "\n",
    );
    expect(parseCpuTicks(stat)).toEqual({ idle: 820, total: 990 });
    expect(parseCpuTicks("intr 1 2 3\n")).toBeUndefined();
  });

  it("is the busy share of the ticks between two readings, and 0 when none passed", () => {
    const before = { idle: 820, total: 990 };
    expect(cpuPercentBetween(before, { idle: 880, total: 1190 })).toBeCloseTo(70, 10);
    expect(cpuPercentBetween(before, before)).toBe(0);
    expect(cpuPercentBetween(undefined, { idle: 25, total: 100 })).toBe(75);
  });

  it("follows the host: well above half while every core spins", async () => {
    await sampleHostHealth();
    const spin = "const end = Date.now() + 1500; while (Date.now() < end);";
    const cores = Math.min(8, availableParallelism());
    const children = Array.from({ length: cores }, () => execFile(process.execPath, ["-e", spin]));
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const busy = await sampleHostHealth();
    await Promise.all(children.map((child) => new Promise((resolve) => child.on("exit", resolve))));
    expect(busy.cpuPercent).toBeGreaterThan(60);
  });
});

describe("listDevices", () => {
  it("lists loopback with the kernel's counters and flags capture interfaces", async () => {
    const devices = await listDevices(["lo", "pf-absent0"]);
    const lo = devices.find((device) => device.name === "lo");
    expect(lo).toBeDefined();
    const rxPackets = Number(await readFile("/sys/class/net/lo/statistics/rx_packets", "utf8"));
    // The counter only grows; the sample was taken just before the read above.
    expect(lo?.rxPackets).toBeGreaterThan(0);
    expect(lo?.rxPackets).toBeLessThanOrEqual(rxPackets);
    expect(lo?.rxBytes).toBeGreaterThan(0);
    expect(lo?.capturing).toBe(true);
    expect(devices.find((device) => device.name === "pf-absent0")).toMatchObject({
      state: DeviceState.NotPresent,
      capturing: true,
    });
  });
});

describe("parseProcNetDev", () => {
  it("reads every counter of each interface line and skips malformed lines", () => {
    const text = [
      "Inter-|   Receive                                                |  Transmit",
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
      "    lo: 1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0",
      "  eth0: 5 6 7 8 0 0 0 0 9 10 11 12 0 0 0 0",
      "broken: 1 2 3",
    ].join("\n");
    expect(parseProcNetDev(text)).toEqual([
      {
        name: "lo",
        rxBytes: 1000,
        rxPackets: 10,
        rxErrors: 1,
        rxDropped: 2,
        txBytes: 2000,
        txPackets: 20,
        txErrors: 3,
        txDropped: 4,
      },
      {
        name: "eth0",
        rxBytes: 5,
        rxPackets: 6,
        rxErrors: 7,
        rxDropped: 8,
        txBytes: 9,
        txPackets: 10,
        txErrors: 11,
        txDropped: 12,
      },
    ]);
  });
});
