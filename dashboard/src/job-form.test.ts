import { describe, expect, it } from "vitest";
import { buildJobSpec, inputOfApiMessage, JobFormError, type JobFormValues } from "./job-form.js";

const empty: JobFormValues = {
  from: "2024-05-01T10:00:00",
  to: "2024-05-01T10:15:00",
  srcIp: "",
  dstIp: "",
  srcPort: "",
  dstPort: "",
  protocol: "",
  filter: "",
  sensors: [],
  locations: [],
  description: "",
  maxSize: "",
  maxUnit: "MiB",
};

function refusal(values: Partial<JobFormValues>): JobFormError {
  try {
    buildJobSpec({ ...empty, ...values }, "UTC");
  } catch (error) {
    if (error instanceof JobFormError) return error;
    throw error;
  }
  throw new Error("the form was accepted");
}

describe("the New job form's body", () => {
  it("sends only the window when nothing else is filled in, in UTC from the user's zone", () => {
    expect(buildJobSpec(empty, "Europe/Berlin")).toEqual({
      start_time: "2024-05-01T08:00:00.000Z",
      end_time: "2024-05-01T08:15:00.000Z",
    });
  });

  it("sends every filled field, trimmed, with numbers as numbers and the size in bytes", () => {
    const spec = buildJobSpec(
      {
        ...empty,
        srcIp: " 10.1.2.3 ",
        dstIp: "10.9.0.0/16",
        srcPort: "51000",
        dstPort: "443",
        protocol: "TCP",
        filter: "  not port 22 ",
        sensors: ["edge-1", "edge-2"],
        locations: ["paris"],
        description: "incident 42",
        maxSize: "1.5",
        maxUnit: "GiB",
      },
      "UTC",
    );
    expect(spec).toEqual({
      start_time: "2024-05-01T10:00:00.000Z",
      end_time: "2024-05-01T10:15:00.000Z",
      src_ip: "10.1.2.3",
      dst_ip: "10.9.0.0/16",
      src_port: 51000,
      dst_port: 443,
      protocol: "tcp",
      filter: "not port 22",
      sensors: ["edge-1", "edge-2"],
      locations: ["paris"],
      description: "incident 42",
      max_bytes: 1.5 * 1024 ** 3,
    });
  });

  it("names the field of each value it refuses", () => {
    expect(refusal({ from: "" })).toMatchObject({ field: "from", message: "From is required." });
    expect(refusal({ to: "soon" }).field).toBe("to");
    expect(refusal({ to: empty.from })).toMatchObject({ field: "to", message: "To must be after From." });
    expect(refusal({ srcPort: "0" }).field).toBe("srcPort");
    expect(refusal({ dstPort: "65536" }).message).toBe(
      "Destination port must be a whole number from 1 to 65535.",
    );
    expect(refusal({ dstPort: "44.3" }).field).toBe("dstPort");
    expect(refusal({ maxSize: "-1" }).field).toBe("maxSize");
  });

  it("leaves addresses, protocol and filter to the collector, which checks them with libpcap", () => {
    const spec = buildJobSpec(
      { ...empty, srcIp: "not-an-ip", protocol: "nonsense", filter: "tcp port nonsense" },
      "UTC",
    );
    expect(spec).toMatchObject({ src_ip: "not-an-ip", protocol: "nonsense", filter: "tcp port nonsense" });
  });
});

describe("inputOfApiMessage", () => {
  it("finds the input a collector refusal is about", () => {
    expect(inputOfApiMessage("bad filter 'tcp port nonsense': unknown port 'nonsense'")).toBe("filter");
    expect(inputOfApiMessage("src_ip: must be an IPv4 or IPv6 address or CIDR prefix")).toBe("srcIp");
    expect(inputOfApiMessage("end_time: end_time must be after start_time")).toBe("to");
    expect(inputOfApiMessage("max_bytes: Too small: expected number to be >=24")).toBe("maxSize");
  });

  it("names none for refusals about no single input", () => {
    expect(inputOfApiMessage('unknown sensor: "edge-9"')).toBeNull();
    expect(inputOfApiMessage("unknown field: colour")).toBeNull();
    expect(inputOfApiMessage("sensors.0: not a sensor name")).toBeNull();
    expect(inputOfApiMessage("no sensor is registered yet")).toBeNull();
  });
});
