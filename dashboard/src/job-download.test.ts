import { describe, expect, it } from "vitest";
import { filenameFromDisposition } from "./job-download.js";

describe("filenameFromDisposition", () => {
  it("takes the collector's quoted name", () => {
    expect(
      filenameFromDisposition(
        'attachment; filename="pcapfleet-1a2b3c4d-20240501T100000Z-20240501T101500Z.pcap"',
        "x.pcap",
      ),
    ).toBe("pcapfleet-1a2b3c4d-20240501T100000Z-20240501T101500Z.pcap");
  });

  it("prefers the RFC 5987 name, and reads unquoted and escaped ones", () => {
    expect(
      filenameFromDisposition(`attachment; filename="a.pcap"; filename*=UTF-8''caf%C3%A9%20dump.pcap`, "x"),
    ).toBe("café dump.pcap");
    expect(filenameFromDisposition("attachment; filename=plain.pcap; size=10", "x")).toBe("plain.pcap");
    expect(filenameFromDisposition('attachment; filename="say \\"hi\\".pcap"', "x")).toBe('say "hi".pcap');
  });

  it("never lets a name pick a directory, and falls back when there is none", () => {
    expect(filenameFromDisposition('attachment; filename="../../etc/passwd"', "x.pcap")).toBe("passwd");
    expect(filenameFromDisposition('attachment; filename="C:\\\\tmp\\\\a.pcap"', "x.pcap")).toBe("a.pcap");
    expect(filenameFromDisposition('attachment; filename=".."', "x.pcap")).toBe("x.pcap");
    expect(filenameFromDisposition("attachment", "x.pcap")).toBe("x.pcap");
    expect(filenameFromDisposition(null, "x.pcap")).toBe("x.pcap");
    expect(filenameFromDisposition(`attachment; filename*=UTF-8''%E0%A4%A`, "x.pcap")).toBe("x.pcap");
  });
});
