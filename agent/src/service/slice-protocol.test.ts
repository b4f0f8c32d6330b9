import { AppError, ErrorCode } from "@pcapfleet/core";
import { describe, expect, it } from "vitest";
import { fromWire, toWire } from "./slice-protocol.js";

/** What a worker's failure looks like after crossing to the main thread (structured clone, as postMessage). */
const crossed = (reason: unknown): AppError => fromWire(structuredClone(toWire(reason)));

describe("slice errors across the thread boundary", () => {
  it("an AppError keeps its code, message and details; its cause stays in the log", () => {
    const original = new AppError(ErrorCode.StorageIo, "ring-001.pcap: read failed at offset 42", {
      cause: new Error("EIO: i/o error, read"),
      details: { offset: 42 },
    });
    const error = crossed(original);
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe(ErrorCode.StorageIo);
    expect(error.message).toBe("ring-001.pcap: read failed at offset 42");
    expect(error.details).toEqual({ offset: 42 });
    expect(String((error.cause as Error).message)).toMatch(
      /in the slice worker: Error: EIO: i\/o error, read/,
    );
  });

  it("anything else is internal, with its stack kept for the log", () => {
    const error = crossed(new TypeError("cannot read properties of undefined"));
    expect(error.code).toBe(ErrorCode.Internal);
    expect(error.isServerFault).toBe(true);
    expect(String((error.cause as Error).message)).toMatch(
      /TypeError: cannot read properties of undefined\n\s+at /,
    );
  });
});
