/**
 * The TimeWindow of a request, checked: `[start_ns, end_ns)` with 0 <= start < end. Kept as
 * nanosecond bigints (the wire's unit) until a slice needs Instants.
 */
import { AppError, ErrorCode } from "@pcapfleet/core";
import type { TimeWindow } from "@pcapfleet/proto";
import { formatNs } from "./ring-extent.js";

/** A checked window, ns since the epoch. */
export interface NsWindow {
  readonly from: bigint;
  readonly to: bigint;
}

/** Checks `window`: present, not before the epoch, end after start; else `invalid_argument`. */
export function windowOf(window: TimeWindow | undefined): NsWindow {
  if (window === undefined) throw new AppError(ErrorCode.InvalidArgument, "bad window: window is required");
  const { startNs, endNs } = window;
  if (startNs < 0n) {
    throw new AppError(ErrorCode.InvalidArgument, `bad window: start_ns ${startNs} is before the epoch`);
  }
  if (endNs <= startNs) {
    throw new AppError(
      ErrorCode.InvalidArgument,
      `bad window: end ${describe(endNs)} is not after start ${describe(startNs)}`,
    );
  }
  return { from: startNs, to: endNs };
}

function describe(ns: bigint): string {
  return ns < 0n ? `${ns} ns` : formatNs(ns);
}
