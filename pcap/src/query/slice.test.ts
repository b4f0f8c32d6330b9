import { appendFile, mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { classicFixture, type FixturePacket } from "../format/fixtures.js";
import { openCaptureBuffer } from "../format/open.js";
import { MemorySink } from "../format/sink.js";
import { generateTraffic } from "../synth/traffic.js";
import { FilterError, LinkType } from "../types.js";
import { type CaptureFile, scanStores } from "./catalogue.js";
import { indexStores } from "./index-store.js";
import { type SliceOptions, type SliceProgress, sliceStore } from "./slice.js";

const START = 1_700_000_000;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pcapfleet-slice-"));
  await mkdir(join(dir, "store"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const traffic = (
  seed: number,
  count: number,
  sec: number,
  linkType: number = LinkType.ETHERNET,
): FixturePacket[] =>
  [...generateTraffic({ seed, packets: count, ratePps: 100, linkType, start: { sec, nsec: 0 } })].map(
    (p) => ({
      data: p.data,
      tsSec: p.tsSec,
      tsNsec: p.tsNsec,
      origLen: p.origLen,
    }),
  );

async function put(name: string, bytes: Buffer): Promise<string> {
  const path = join(dir, "store", name);
  await writeFile(path, bytes);
  return path;
}

async function slice(options: Omit<SliceOptions, "files" | "output"> = {}, files?: CaptureFile[]) {
  const sink = new MemorySink();
  const list = files ?? (await scanStores([join(dir, "store")])).files;
  const result = await sliceStore({ files: list, output: sink, ...options });
  const reader = await openCaptureBuffer(sink.toBuffer());
  const stamps: number[] = [];
  for (let rec = await reader.next(); rec !== null; rec = await reader.next())
    stamps.push(rec.tsSec * 1e9 + rec.tsNsec);
  return { result, reader, stamps };
}

describe("sliceStore", () => {
  it("writes pcapng with one interface per link type when the files' link types differ", async () => {
    await put("eth.pcap", classicFixture(traffic(1, 200, START), { variant: "nsec-le" }));
    await put(
      "raw.pcap",
      classicFixture(traffic(2, 200, START, LinkType.RAW), { variant: "nsec-le", linkType: LinkType.RAW }),
    );
    const { result, reader, stamps } = await slice({ filter: "udp port 53" });
    expect(result.format).toBe("pcapng");
    expect(reader.format).toBe("pcapng");
    expect(reader.linkTypes).toEqual([LinkType.ETHERNET, LinkType.RAW]);
    expect(stamps.length).toBe(result.packets);
    expect(result.packets).toBeGreaterThan(20);
    expect([...stamps].sort((a, b) => a - b)).toEqual(stamps);
  });

  it("skips the files whose link type the filter does not fit, and slices the others", async () => {
    await put("eth.pcap", classicFixture(traffic(1, 300, START)));
    const raw = await put(
      "raw.pcap",
      classicFixture(traffic(2, 300, START, LinkType.RAW), { linkType: LinkType.RAW }),
    );
    const { result } = await slice({ filter: "vlan" });
    expect(result.packets).toBeGreaterThan(0);
    expect(result.skipped).toEqual([{ path: raw, reason: "bad filter 'vlan': no VLAN support for Raw IP" }]);
  });

  it("rejects a bad filter and an inverted window before writing anything", async () => {
    await put("eth.pcap", classicFixture(traffic(1, 10, START)));
    const { files } = await scanStores([join(dir, "store")]);
    const output = join(dir, "out.pcap");
    await expect(sliceStore({ files, output, filter: "port 99999" })).rejects.toBeInstanceOf(FilterError);
    await expect(sliceStore({ files: [], output, filter: "tcp and" })).rejects.toBeInstanceOf(FilterError);
    await expect(
      sliceStore({ files, output, from: { sec: START + 1, nsec: 0 }, to: { sec: START, nsec: 999_999_999 } }),
    ).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(stat(output)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("writes microsecond pcap when no file has nanoseconds, nanosecond pcap when one has", async () => {
    await put("a.pcap", classicFixture(traffic(1, 50, START)));
    expect((await slice()).reader.nanosecond).toBe(false);
    await put("b.pcap", classicFixture(traffic(2, 50, START + 1), { variant: "nsec-be" }));
    expect((await slice()).reader.nanosecond).toBe(true);
  });

  it("stops scanning an unindexed file at the reorder slack past the window end", async () => {
    // 3000 packets at 100 pps: 30 s of traffic; a window of the first 2 s reads ~12 s of it.
    const path = await put("long.pcap", classicFixture(traffic(1, 3000, START)));
    const { result, stamps } = await slice({ to: { sec: START + 2, nsec: 0 } });
    expect(stamps.every((ns) => ns < (START + 2) * 1e9)).toBe(true);
    expect(result.bytesRead).toBeLessThan((await stat(path)).size / 2);
  });

  it("uses a file's index, and scans the part written after it was indexed", async () => {
    const first = traffic(1, 400, START);
    const path = await put("growing.pcap", classicFixture(first, { variant: "nsec-le" }));
    const state = join(dir, "state");
    const catalogue = await scanStores([join(dir, "store")]);
    const indexed = await indexStores({ files: catalogue.files, stateDir: state });
    expect(indexed.files.map((f) => f.status)).toEqual(["built"]);
    // The capture grows by 100 packets (records only, no second header), and a partial record.
    const more = traffic(9, 100, START + 5);
    const body = classicFixture(more, { variant: "nsec-le" }).subarray(24);
    await appendFile(path, Buffer.concat([body, body.subarray(0, 20)]));
    const grown = (await scanStores([join(dir, "store")])).files;
    const withIndex = await slice({ stateDir: state, filter: "tcp or udp" }, grown);
    const without = await slice({ filter: "tcp or udp" }, grown);
    expect(withIndex.stamps).toEqual(without.stamps);
    expect(withIndex.stamps.some((ns) => ns >= (START + 5) * 1e9)).toBe(true);
    // An incomplete last record is a file being written, not a corrupt one.
    expect(withIndex.result.skipped).toEqual([]);
  });

  it("reports progress, honours cancellation and caps", async () => {
    await put("a.pcap", classicFixture(traffic(1, 500, START)));
    const seen: SliceProgress[] = [];
    const { result } = await slice({ onProgress: (p) => seen.push(p), maxPackets: 120 });
    expect(result).toMatchObject({ packets: 120, truncated: true });
    expect(seen.at(-1)).toMatchObject({ packets: 120, filesTotal: 1 });
    const aborted = new AbortController();
    aborted.abort();
    await expect(slice({ signal: aborted.signal })).rejects.toMatchObject({ code: "cancelled" });
  });
});
