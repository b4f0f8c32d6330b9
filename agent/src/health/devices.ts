import { readFile } from "node:fs/promises";
import si from "systeminformation";

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
 */
export async function listDevices(capturing: readonly string[] = []): Promise<DeviceInfo[]> {
  const [interfaces, stats] = await Promise.all([si.networkInterfaces(), si.networkStats("*")]);
  const list = Array.isArray(interfaces) ? interfaces : [interfaces];
  const byName = new Map(stats.map((entry) => [entry.iface, entry]));
  const devices: DeviceInfo[] = [];
  for (const iface of list) {
    const counters = byName.get(iface.iface);
    const [rxPackets, txPackets] = await Promise.all([
      sysCounter(iface.iface, "rx_packets"),
      sysCounter(iface.iface, "tx_packets"),
    ]);
    devices.push({
      name: iface.iface,
      state: iface.operstate === "down" ? DeviceState.Down : DeviceState.Up,
      speedMbps: typeof iface.speed === "number" && iface.speed > 0 ? iface.speed : 0,
      rxBytes: counters?.rx_bytes ?? 0,
      txBytes: counters?.tx_bytes ?? 0,
      rxPackets,
      txPackets,
      rxDropped: counters?.rx_dropped ?? 0,
      txDropped: counters?.tx_dropped ?? 0,
      rxErrors: counters?.rx_errors ?? 0,
      txErrors: counters?.tx_errors ?? 0,
      capturing: capturing.includes(iface.iface),
    });
  }
  for (const name of capturing) {
    if (!devices.some((device) => device.name === name)) devices.push(absent(name));
  }
  return devices;
}

// systeminformation reports bytes, drops and errors but not packet counts; Linux keeps them here.
async function sysCounter(iface: string, counter: string): Promise<number> {
  try {
    const text = await readFile(`/sys/class/net/${iface}/statistics/${counter}`, "utf8");
    const value = Number(text.trim());
    return Number.isFinite(value) ? value : 0;
  } catch {
    return 0;
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
