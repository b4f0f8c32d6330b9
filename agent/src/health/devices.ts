import { readFile } from "node:fs/promises";

/** Link state of an interface (proto `DeviceState`). */
export const DeviceState = { Up: "up", Down: "down", NotPresent: "not_present" } as const;
/** One of {@link DeviceState}. */
export type DeviceState = (typeof DeviceState)[keyof typeof DeviceState];

/** A network interface with the kernel's counters since boot (proto `Device`). */
export interface DeviceInfo {
  readonly name: string;
  readonly state: DeviceState;
  /** Link speed in Mbit/s; 0 when unknown (virtual interfaces, loopback). */
  readonly speedMbps: number;
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly rxPackets: number;
  readonly txPackets: number;
  readonly rxDropped: number;
  readonly txDropped: number;
  readonly rxErrors: number;
  readonly txErrors: number;
  /** Whether the agent (or its capture tool) captures on it. */
  readonly capturing: boolean;
}

/**
 * Lists the host's interfaces with their counters. Interfaces named in `capturing` but absent
 * from the host are reported as `not_present`, so a renamed or unplugged NIC shows up at once.
 *
 * Read straight from the kernel: one read of `/proc/net/dev` for every counter, then each
 * interface's `operstate` and `speed` in `/sys/class/net`. systeminformation's
 * `networkInterfaces()` was used first and measured at ~65 short-lived processes per call on a
 * 4-interface host (a shell per interface running `cat`s, `ip`, `nmcli` lookups): 90 ms of CPU
 * per heartbeat, most of the agent's idle CPU (bench/agent-idle.bench.mjs). This costs ~2 ms.
 */
export async function listDevices(capturing: readonly string[] = []): Promise<DeviceInfo[]> {
  const devices: DeviceInfo[] = [];
  for (const row of parseProcNetDev(await readFile("/proc/net/dev", "utf8"))) {
    const [operstate, speed] = await Promise.all([
      sysText(row.name, "operstate"),
      sysText(row.name, "speed"),
    ]);
    const mbps = Number(speed);
    devices.push({
      ...row,
      // "unknown" is what loopback and many virtual interfaces report while passing traffic.
      state: operstate === "down" || operstate === "lowerlayerdown" ? DeviceState.Down : DeviceState.Up,
      speedMbps: Number.isFinite(mbps) && mbps > 0 ? mbps : 0,
      capturing: capturing.includes(row.name),
    });
  }
  for (const name of capturing) {
    if (!devices.some((device) => device.name === name)) devices.push(absent(name));
  }
  return devices;
}

/** Counters of one `/proc/net/dev` line. */
type Counters = Omit<DeviceInfo, "state" | "speedMbps" | "capturing">;

/**
 * Parses `/proc/net/dev`: two header lines, then `name: rx bytes packets errs drop fifo frame
 * compressed multicast tx bytes packets errs drop fifo colls carrier compressed`.
 */
export function parseProcNetDev(text: string): Counters[] {
  const rows: Counters[] = [];
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (f.length < 16 || f.some((value) => !Number.isFinite(value))) continue;
    rows.push({
      name: line.slice(0, colon).trim(),
      rxBytes: f[0] as number,
      rxPackets: f[1] as number,
      rxErrors: f[2] as number,
      rxDropped: f[3] as number,
      txBytes: f[8] as number,
      txPackets: f[9] as number,
      txErrors: f[10] as number,
      txDropped: f[11] as number,
    });
  }
  return rows;
}

async function sysText(iface: string, file: string): Promise<string> {
  try {
    return (await readFile(`/sys/class/net/${iface}/${file}`, "utf8")).trim();
  } catch {
    // speed is unreadable (EINVAL) on interfaces without a link speed.
    return "";
  }
}

function absent(name: string): DeviceInfo {
  return {
    name,
    state: DeviceState.NotPresent,
    speedMbps: 0,
    rxBytes: 0,
    txBytes: 0,
    rxPackets: 0,
    txPackets: 0,
    rxDropped: 0,
    txDropped: 0,
    rxErrors: 0,
    txErrors: 0,
    capturing: true,
  };
}
