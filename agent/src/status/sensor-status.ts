/**
 * The sensor's picture of itself (proto `SensorStatus`): identity, host health, stores with
 * their disks and PCAP availability, interfaces, capture counters and busy tasks. Heartbeats and
 * `CaptureService.GetStatus` send the same snapshot, built here from the agent's parts.
 */
import { create } from "@bufbuild/protobuf";
import {
  type BusyTask,
  CaptureStatsSchema,
  DeviceSchema,
  DeviceState,
  HostHealthSchema,
  SensorIdentitySchema,
  type SensorStatus,
  SensorStatusSchema,
  StoreState,
  StoreStatusSchema,
} from "@pcapfleet/proto";
import type { Logger } from "pino";
import type { DeviceInfo } from "../health/devices.js";
import type { HostHealth } from "../health/host-health.js";
import type { StoreReport } from "../store/types.js";

/** Who the sensor is (proto `SensorIdentity`). */
export interface Identity {
  readonly name: string;
  readonly location: string;
  readonly version: string;
  /** host:port of the agent's CaptureService, as the collector should dial it. */
  readonly agentAddress: string;
  readonly hostname: string;
}

/** Counters of one capture writer. */
export interface CaptureSnapshot {
  readonly interface: string;
  readonly packetsReceived: number;
  readonly packetsDroppedKernel: number;
  readonly packetsDroppedInterface: number;
}

/** Where the status comes from; each part is the agent's live component (or a test's). */
export interface StatusSources {
  /** Read on every snapshot: the bound address is known only once the server listens. */
  readonly identity: () => Identity;
  readonly stores: () => readonly StoreReport[];
  readonly health: () => Promise<HostHealth>;
  readonly devices: (capturing: readonly string[]) => Promise<DeviceInfo[]>;
  readonly capture: () => readonly CaptureSnapshot[];
  readonly capturingInterfaces: () => readonly string[];
  readonly busyTasks: () => readonly BusyTask[];
  readonly log: Logger;
  /** A snapshot younger than this is reused (GetStatus may be called often). Default 1000 ms. */
  readonly maxAgeMs?: number;
  readonly now?: () => number;
}

/** Builds status snapshots; see {@link createStatusReporter}. */
export interface StatusReporter {
  /** The current snapshot; host health and devices are sampled at most every `maxAgeMs`. */
  status(): Promise<SensorStatus>;
}

const storeStates = {
  ok: StoreState.OK,
  degraded: StoreState.DEGRADED,
  unreadable: StoreState.UNREADABLE,
  missing: StoreState.MISSING,
} as const;

const deviceStates = {
  up: DeviceState.UP,
  down: DeviceState.DOWN,
  not_present: DeviceState.NOT_PRESENT,
} as const;

/**
 * Creates the status reporter. Host health and device counters cost a few system calls and a
 * `/sys` walk, so they are sampled once per `maxAgeMs` and shared by concurrent callers; stores,
 * capture counters and busy tasks are read live (they are in memory).
 */
export function createStatusReporter(sources: StatusSources): StatusReporter {
  const maxAgeMs = sources.maxAgeMs ?? 1000;
  const now = sources.now ?? Date.now;
  let sampled: { at: number; value: Promise<[HostHealth, DeviceInfo[]]> } | undefined;

  function sample(): Promise<[HostHealth, DeviceInfo[]]> {
    const at = now();
    if (sampled !== undefined && at - sampled.at < maxAgeMs) return sampled.value;
    const value = Promise.all([sources.health(), sources.devices(sources.capturingInterfaces())]);
    sampled = { at, value };
    // A failed sample must not stick: the next call samples again.
    value.catch((error: unknown) => {
      sources.log.warn({ err: error }, "host health sample failed");
      if (sampled?.value === value) sampled = undefined;
    });
    return value;
  }

  return {
    async status(): Promise<SensorStatus> {
      const [health, devices] = await sample();
      return create(SensorStatusSchema, {
        identity: create(SensorIdentitySchema, { ...sources.identity() }),
        health: create(HostHealthSchema, {
          cpuPercent: health.cpuPercent,
          memoryTotalBytes: BigInt(health.memoryTotalBytes),
          memoryUsedBytes: BigInt(health.memoryUsedBytes),
          load1m: health.load1m,
          load5m: health.load5m,
          load15m: health.load15m,
          hostUptimeSeconds: BigInt(health.hostUptimeSeconds),
          agentUptimeSeconds: BigInt(health.agentUptimeSeconds),
          agentRssBytes: BigInt(health.agentRssBytes),
        }),
        stores: sources.stores().map(storeMessage),
        devices: devices.map((device) =>
          create(DeviceSchema, {
            name: device.name,
            state: deviceStates[device.state],
            speedMbps: BigInt(device.speedMbps),
            rxBytes: BigInt(device.rxBytes),
            txBytes: BigInt(device.txBytes),
            rxPackets: BigInt(device.rxPackets),
            txPackets: BigInt(device.txPackets),
            rxDropped: BigInt(device.rxDropped),
            txDropped: BigInt(device.txDropped),
            rxErrors: BigInt(device.rxErrors),
            txErrors: BigInt(device.txErrors),
            capturing: device.capturing,
          }),
        ),
        capture: sources.capture().map((row) =>
          create(CaptureStatsSchema, {
            interface: row.interface,
            packetsReceived: BigInt(row.packetsReceived),
            packetsDroppedKernel: BigInt(row.packetsDroppedKernel),
            packetsDroppedInterface: BigInt(row.packetsDroppedInterface),
          }),
        ),
        busyTasks: [...sources.busyTasks()],
      });
    },
  };
}

function storeMessage(store: StoreReport) {
  return create(StoreStatusSchema, {
    path: store.path,
    state: storeStates[store.state],
    error: store.error,
    ...(store.disk === undefined
      ? {}
      : {
          disk: {
            sizeBytes: BigInt(Math.round(store.disk.sizeBytes)),
            usedBytes: BigInt(Math.round(store.disk.usedBytes)),
            freeBytes: BigInt(Math.round(store.disk.freeBytes)),
            usedPercent: store.disk.usedPercent,
          },
        }),
    pcap: {
      oldestPacketNs: store.pcap.oldestPacketNs,
      newestPacketNs: store.pcap.newestPacketNs,
      bytes: BigInt(Math.round(store.pcap.bytes)),
      files: BigInt(store.pcap.files),
      ingestBytesPerSecond: store.pcap.ingestBytesPerSecond,
      retentionForecastHours: store.pcap.retentionForecastHours,
    },
    corruptFiles: BigInt(store.corruptFiles),
  });
}
