/**
 * The Network page's shapes: the network API's answers (collector/src/network/schemas.ts), the
 * windows the page offers, and the pure geometry of the map (an equirectangular projection, dot
 * and line sizes), kept apart from the elements so they stay declarative and testable.
 */
import type { SensorState } from "./api-types.js";

/** Bytes and packets. */
export interface Volume {
  readonly bytes: number;
  readonly packets: number;
}

/** Where a map entry came from. */
export type MapSource = "manual" | "learned";

/** One entry of the subnet map (`SubnetMapEntry`). */
export interface MapEntry {
  readonly prefix: string;
  readonly location: string;
  readonly source: MapSource;
  readonly description: string;
  readonly last_seen_at: string | null;
}

/** A location with its sensors, map entries and traffic (`GET /network/locations`). */
export interface NetworkLocation {
  readonly name: string;
  readonly description: string;
  readonly latitude: number | null;
  readonly longitude: number | null;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly sensor_count: number;
  readonly sensors_by_status: Readonly<Record<SensorState, number>>;
  readonly subnets: readonly MapEntry[];
  readonly traffic: Volume;
}

/** Traffic from one location to another over a window. */
export interface Flow extends Volume {
  readonly from_location: string;
  readonly to_location: string;
}

/** `GET /network/traffic`. */
export interface NetworkTraffic {
  readonly from: string;
  readonly to: string;
  readonly locations: readonly (Volume & { readonly location: string })[];
  readonly flows: readonly Flow[];
}

/** A subnet with traffic in a window (`GET /network/subnets`). */
export interface ActiveSubnet {
  readonly prefix: string;
  readonly locations: readonly string[];
  readonly source: MapSource | null;
  readonly seen_at: readonly string[];
  readonly last_seen: string;
  readonly bytes_sent: number;
  readonly packets_sent: number;
  readonly bytes_received: number;
  readonly packets_received: number;
}

/** `GET /network/analytics/top-subnets` row. */
export interface TopSubnet extends Volume {
  readonly prefix: string;
  readonly locations: readonly string[];
  readonly source: MapSource | null;
}

/** A point of `GET /network/analytics/traffic-over-time`. */
export interface TrafficPoint extends Volume {
  readonly time: string;
}

/** Where the map places an address (`GET /network/lookup`). */
export interface LookupResult {
  readonly address: string;
  readonly matches: readonly {
    readonly prefix: string;
    readonly location: string;
    readonly source: MapSource;
  }[];
  readonly within: readonly {
    readonly prefix: string;
    readonly location: string;
    readonly source: MapSource;
  }[];
}

/** Resolution of a series. */
export type Bucket = "minute" | "hour" | "day";

/** The windows the page offers, with the buckets the API allows for each (minute: 6 h at most). */
export const WINDOWS = {
  "1h": { label: "Last hour", ms: 3_600_000, buckets: ["minute", "hour"] },
  "24h": { label: "Last 24 hours", ms: 86_400_000, buckets: ["hour", "day"] },
  "7d": { label: "Last 7 days", ms: 7 * 86_400_000, buckets: ["hour", "day"] },
} as const satisfies Record<string, { label: string; ms: number; buckets: readonly Bucket[] }>;

/** One of {@link WINDOWS}' keys. */
export type WindowId = keyof typeof WINDOWS;

/** Type guard for a {@link WindowId}. */
export function isWindowId(value: string): value is WindowId {
  return Object.hasOwn(WINDOWS, value);
}

/** `from`/`to` query parameters of the window ending at `now` (the API widens them to buckets). */
export function windowParams(id: WindowId, now: number): URLSearchParams {
  return new URLSearchParams({
    from: new Date(now - WINDOWS[id].ms).toISOString(),
    to: new Date(now).toISOString(),
  });
}

/** The worst status among a location's sensors; `none` without sensors. */
export function worstStatus(counts: Readonly<Record<SensorState, number>>): SensorState | "none" {
  if (counts.offline > 0) return "offline";
  if (counts.degraded > 0) return "degraded";
  return counts.online > 0 ? "online" : "none";
}

/** Size of the map's drawing in SVG units: one unit per degree. */
export const MAP_WIDTH = 360;
export const MAP_HEIGHT = 180;

/** Equirectangular projection: longitude to x, latitude to y (north up). */
export function project(latitude: number, longitude: number): { x: number; y: number } {
  return { x: longitude + 180, y: 90 - latitude };
}

/** Radius of a location's dot: area grows with its bytes, from 2 (none) to 9 (the busiest). */
export function dotRadius(bytes: number, maxBytes: number): number {
  return maxBytes <= 0 ? 2 : 2 + 7 * Math.sqrt(Math.max(0, bytes) / maxBytes);
}

/** Width of a flow's line: from 0.4 to 4 units, proportional to its bytes. */
export function lineWidth(bytes: number, maxBytes: number): number {
  return maxBytes <= 0 ? 0.4 : 0.4 + 3.6 * (Math.max(0, bytes) / maxBytes);
}
