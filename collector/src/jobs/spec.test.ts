import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parseRange } from "../http/file-response.js";
import { checkFilter, effectiveFilter, jobSpecSchema } from "./spec.js";

const run = promisify(execFile);
const WINDOW = { start_time: "2026-01-01T00:00:00Z", end_time: "2026-01-01T00:10:00Z" };

describe("job body", () => {
  it("matches conversation fields in both directions", () => {
    expect(effectiveFilter({ ...WINDOW, src_ip: "10.0.0.1", dst_port: 443 })).toBe(
      "(src host 10.0.0.1 and dst port 443) or (dst host 10.0.0.1 and src port 443)",
    );
    expect(effectiveFilter({ ...WINDOW, src_ip: "10.0.0.0/8", dst_ip: "2001:db8::1", protocol: "tcp" })).toBe(
      "((src net 10.0.0.0/8 and dst host 2001:db8::1) or (dst net 10.0.0.0/8 and src host 2001:db8::1)) and (tcp)",
    );
    expect(effectiveFilter({ ...WINDOW, protocol: "47", filter: " vlan 5 " })).toBe(
      "(ip proto 47 or ip6 proto 47) and (vlan 5)",
    );
    expect(effectiveFilter(WINDOW)).toBe("");
  });

  it("selects the packets an analyst means, as tcpdump compiles it", async () => {
    // libpcap accepts every expression the body can produce.
    const specs = [
      { ...WINDOW, src_ip: "10.0.0.1", src_port: 1234, dst_ip: "10.0.0.2", dst_port: 80, protocol: "tcp" },
      { ...WINDOW, dst_ip: "fe80::/10", protocol: "icmp6" },
      { ...WINDOW, protocol: "255", filter: "not arp" },
    ];
    for (const spec of specs) {
      const filter = effectiveFilter(spec);
      expect(await checkFilter(filter)).toBe(true);
      await run("tcpdump", ["-d", "-y", "EN10MB", filter]);
    }
  });

  it("rejects what tcpdump rejects, with libpcap's message", async () => {
    await expect(checkFilter("tcp port nonsense")).rejects.toMatchObject({
      code: "invalid_argument",
      message: expect.stringMatching(/bad filter 'tcp port nonsense': .*nonsense/),
    });
  });

  it("validates fields", () => {
    const bad = [
      { ...WINDOW, src_ip: "10.0.0.256" },
      { ...WINDOW, src_ip: "10.0.0.0/33" },
      { ...WINDOW, src_port: 0 },
      { ...WINDOW, protocol: "256" },
      { ...WINDOW, protocol: "gre" },
      { start_time: WINDOW.end_time, end_time: WINDOW.start_time },
      { ...WINDOW, sensors: ["../etc"] },
      { ...WINDOW, extra: true },
      { start_time: "yesterday", end_time: WINDOW.end_time },
    ];
    for (const body of bad) expect(jobSpecSchema.safeParse(body).success, JSON.stringify(body)).toBe(false);
    expect(
      jobSpecSchema.safeParse({ ...WINDOW, src_ip: "::1", protocol: "UDP", max_bytes: 1e9 }).success,
    ).toBe(true);
  });
});

describe("download ranges", () => {
  it("reads one byte range the way RFC 9110 says", () => {
    expect(parseRange(undefined, 100)).toBe("whole");
    expect(parseRange("bytes=0-9", 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange("bytes=90-", 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange("bytes=-10", 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange("bytes=-500", 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange("bytes=50-5000", 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange("bytes=100-", 100)).toBe("unsatisfiable");
    expect(parseRange("bytes=9-3", 100)).toBe("unsatisfiable");
    expect(parseRange("bytes=0-1,5-6", 100)).toBe("whole");
    expect(parseRange("items=0-1", 100)).toBe("whole");
  });
});
