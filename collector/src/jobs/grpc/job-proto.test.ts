import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { AppError } from "@pcapfleet/core";
import { JobSpecSchema, JobStatus, JobStatusSchema, TaskError, TaskErrorSchema } from "@pcapfleet/proto";
import { describe, expect, it } from "vitest";
import { jobSpecSchema } from "../spec.js";
import {
  enumNumber,
  enumWord,
  isoFromTimestamp,
  specBodyFromProto,
  specToProto,
  timestampFromIso,
} from "./job-proto.js";

const ts = (seconds: bigint, nanos = 0) => create(TimestampSchema, { seconds, nanos });

describe("timestamps", () => {
  it("keep every nanosecond both ways", () => {
    const cases: [bigint, number, string][] = [
      [1_700_000_000n, 0, "2023-11-14T22:13:20Z"],
      [1_700_000_000n, 123_456_789, "2023-11-14T22:13:20.123456789Z"],
      [1_700_000_000n, 500_000_000, "2023-11-14T22:13:20.5Z"],
      [0n, 1, "1970-01-01T00:00:00.000000001Z"],
    ];
    for (const [seconds, nanos, text] of cases) {
      expect(isoFromTimestamp(ts(seconds, nanos), "t")).toBe(text);
      expect(timestampFromIso(text)).toEqual(ts(seconds, nanos));
    }
    // What the store writes (Date#toISOString) and what a client may submit (an offset).
    expect(timestampFromIso("2023-11-14T22:13:20.120Z")).toEqual(ts(1_700_000_000n, 120_000_000));
    expect(timestampFromIso("2023-11-14T23:13:20.25+01:00")).toEqual(ts(1_700_000_000n, 250_000_000));
  });

  it("refuse what RFC 3339 cannot write, as invalid_argument naming the field", () => {
    for (const bad of [ts(10n ** 15n), ts(-(10n ** 15n)), ts(0n, -1), ts(0n, 1_000_000_000)]) {
      expect(() => isoFromTimestamp(bad, "start_time")).toThrow(
        expect.objectContaining({ code: "invalid_argument", message: "start_time: timestamp out of range" }),
      );
    }
  });
});

describe("enum words", () => {
  it("are the REST words, both ways", () => {
    expect(enumWord(JobStatusSchema, JobStatus.PARTIAL)).toBe("partial");
    expect(enumWord(TaskErrorSchema, TaskError.NO_DATA_IN_RANGE)).toBe("no_data_in_range");
    expect(enumWord(JobStatusSchema, 99)).toBe("unspecified");
    expect(enumNumber(TaskErrorSchema, "sensor_offline")).toBe(TaskError.SENSOR_OFFLINE);
    expect(enumNumber(JobStatusSchema, "no-such-word")).toBe(0);
  });
});

describe("job specs", () => {
  it("become the REST body: zero and empty fields are absent, so the schema's rules apply", () => {
    const message = create(JobSpecSchema, {
      startTime: ts(1_700_000_000n, 1),
      endTime: ts(1_700_000_060n),
      srcIp: "10.0.0.1",
      dstPort: 443,
      sensors: ["a"],
      maxBytes: 1_000_000n,
    });
    const body = specBodyFromProto(message);
    expect(body).toEqual({
      start_time: "2023-11-14T22:13:20.000000001Z",
      end_time: "2023-11-14T22:14:20Z",
      src_ip: "10.0.0.1",
      dst_port: 443,
      sensors: ["a"],
      max_bytes: 1_000_000,
    });
    const parsed = jobSpecSchema.parse(body);
    // And back: the stored body gives the message it came from.
    expect(create(JobSpecSchema, specToProto(parsed))).toEqual(message);
  });

  it("need a spec and both ends of the window", () => {
    expect(() => specBodyFromProto(undefined)).toThrow(new AppError("invalid_argument", "spec is required"));
    const open = create(JobSpecSchema, { startTime: ts(1n) });
    expect(() => specBodyFromProto(open)).toThrow("end_time is required");
  });
});
