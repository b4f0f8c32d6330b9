/**
 * `pcapfleet-agent slice` and `index` on bad input, through the real bin: one line and exit 2 for
 * a bad filter (libpcap's message), a missing store or a bad time; a corrupt capture is skipped
 * and reported while the rest of the store is sliced; the caps truncate; an empty result is a
 * valid empty pcap with the store's link type.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FixturePacket, LinkType, openCaptureBuffer } from "@pcapfleet/pcap";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agent, ensureBuilt } from "./agent-bin.js";
import { line, type RecordKey, readRecords } from "./reference.js";
import { fileBytes, START, traffic, writeRing } from "./stores.js";

let work: string;
let store: string;
let packets: FixturePacket[];
const out = (): string => join(work, "out.pcap");

/** The records a file of `packets` gives (nanosecond variants keep timestamps whole). */
const keys = (list: readonly FixturePacket[]): string[] =>
  list.map((p) =>
    line({
      tsSec: p.tsSec,
      tsNsec: p.tsNsec,
      caplen: p.data.length,
      origLen: p.origLen ?? p.data.length,
      sha1: createHash("sha1").update(p.data).digest("hex"),
    } satisfies RecordKey),
  );

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "pcapfleet-slice-bad-"));
  store = join(work, "store");
  packets = traffic({ seed: 31, packets: 1200, ratePps: 200, start: { sec: START, nsec: 7 } });
  // Four files in time order; the third is corrupt at its 100th record (a caplen past the maximum).
  const paths = await writeRing(store, "ring", packets, 4, ["nsec-le"]);
  const corrupt = fileBytes(packets.slice(600, 900), "nsec-le");
  let at = 24;
  for (let i = 0; i < 100; i++) at += 16 + corrupt.readUInt32LE(at + 8);
  corrupt.writeUInt32LE(0x7fff_0000, at + 8);
  await writeFile(paths[2] as string, corrupt);
  await writeFile(join(store, "notes.txt"), "operator notes: not a capture\n");
  await writeFile(join(store, "broken-header.pcap"), fileBytes([], "usec-le").subarray(0, 12));
  await ensureBuilt();
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const oneLine = (text: string): void => {
  expect(text.endsWith("\n")).toBe(true);
  expect(text.trimEnd().split("\n")).toHaveLength(1);
};

describe("pcapfleet-agent slice on bad input", () => {
  it("rejects a filter libpcap rejects with exit 2 and libpcap's message on one line", async () => {
    const result = await agent(["slice", "--store", store, "--filter", "tcp port", "-w", out()]);
    expect(result.code).toBe(2);
    oneLine(result.stderr);
    expect(result.stderr).toBe(
      "pcapfleet-agent slice: bad filter 'tcp port': can't parse filter expression: syntax error\n",
    );
  });

  it("rejects a filter that does not fit the store's link type, naming the reason", async () => {
    const raw = join(work, "raw");
    await mkdir(raw, { recursive: true });
    await writeFile(
      join(raw, "r.pcap"),
      fileBytes(traffic({ seed: 2, packets: 20, linkType: LinkType.RAW }), "usec-le", LinkType.RAW),
    );
    const result = await agent(["slice", "--store", raw, "--filter", "vlan", "-w", out()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("pcapfleet-agent slice: bad filter 'vlan': no VLAN support for Raw IP\n");
  });

  it("rejects a missing store with exit 2", async () => {
    const missing = join(work, "no-such-store");
    const result = await agent(["slice", "--store", missing, "-w", out()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`pcapfleet-agent slice: store not found: ${missing}\n`);
  });

  it.each([
    [["--from", "yesterday"], /^pcapfleet-agent slice: bad --from 'yesterday': expected RFC 3339/],
    [["--to", "1700000000.1234567891"], /at most 9 fraction digits/],
    [["--from", "2023-02-30T00:00:00Z"], /day out of range/],
    [
      ["--from", "1700000010", "--to", "1700000009.999999999"],
      /--from 1700000010 is after --to 1700000009.999999999/,
    ],
    [["--max-packets", "0"], /--max-packets must be a positive integer/],
    [["--max-bytes", "1e6"], /--max-bytes must be a positive integer/],
  ])("rejects bad arguments %j with exit 2 and one line", async (args, message) => {
    const result = await agent(["slice", "--store", store, "-w", out(), ...args]);
    expect(result.code).toBe(2);
    oneLine(result.stderr);
    expect(result.stderr).toMatch(message);
  });

  it("requires -w, and refuses to write over a capture of the store", async () => {
    const noOutput = await agent(["slice", "--store", store]);
    expect(noOutput.code).toBe(2);
    expect(noOutput.stderr).toBe("pcapfleet-agent slice: -w OUT is required (- for standard output)\n");
    const victim = join(store, "ring-0.pcap");
    const before = await readFile(victim);
    const overwrite = await agent(["slice", "--store", store, "-w", victim]);
    expect(overwrite.code).toBe(2);
    expect(overwrite.stderr).toBe(`pcapfleet-agent slice: output ${victim} is a capture file of the store\n`);
    expect(await readFile(victim)).toEqual(before);
  });

  it("skips and reports a corrupt capture and slices the rest of the store", async () => {
    const result = await agent(["slice", "--store", store, "-w", out()]);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines).toEqual([
      `pcapfleet-agent slice: skipped ${join(store, "broken-header.pcap")}: truncated file header at offset 12`,
      expect.stringMatching(
        new RegExp(
          `^pcapfleet-agent slice: skipped ${join(store, "ring-2.pcap")}: caplen 2147418112 exceeds the maximum of 262144 at offset \\d+$`,
        ),
      ),
      "pcapfleet-agent slice: 1000 packets, " +
        `${(await stat(out())).size} bytes, 4 of 4 files read, 2 skipped`,
    ]);
    const expected = keys([...packets.slice(0, 700), ...packets.slice(900)]);
    expect((await readRecords(await readFile(out()))).map(line)).toEqual(expected);
  });

  it("stops at --max-packets and --max-bytes and says the result is truncated", async () => {
    const byPackets = await agent([
      "slice",
      "--store",
      store,
      "--filter",
      "tcp",
      "--max-packets",
      "25",
      "-w",
      out(),
    ]);
    expect(byPackets.code).toBe(0);
    expect(byPackets.stderr).toMatch(
      /: 25 packets, \d+ bytes, 1 of 4 files read, 1 skipped, truncated \(cap reached\)\n$/,
    );
    expect(await readRecords(await readFile(out()))).toHaveLength(25);
    const byBytes = await agent(["slice", "--store", store, "--max-bytes", "10000", "-w", out()]);
    expect(byBytes.code).toBe(0);
    expect(byBytes.stderr).toContain("truncated (cap reached)");
    const size = (await stat(out())).size;
    expect(size).toBeLessThanOrEqual(10_000);
    expect(size).toBeGreaterThan(10_000 - 16 - 1514);
  });

  it("writes a valid empty pcap with the store's link type when nothing matches", async () => {
    const result = await agent(["slice", "--store", store, "--from", String(START + 3600), "-w", out()]);
    expect(result.code).toBe(0);
    // Without an index every file is read: only an index knows a file ends before the window.
    expect(result.stderr).toContain(": 0 packets, 24 bytes, 4 of 4 files read");
    const bytes = await readFile(out());
    const reader = await openCaptureBuffer(bytes);
    expect(reader.linkTypes).toEqual([LinkType.ETHERNET]);
    expect(reader.nanosecond).toBe(true);
    expect(await reader.next()).toBeNull();
    const empty = join(work, "empty-store");
    await mkdir(empty, { recursive: true });
    const none = await agent(["slice", "--store", empty, "--filter", "tcp", "-w", out()]);
    expect(none.code).toBe(0);
    expect((await readFile(out())).length).toBe(24);
  });
});

describe("pcapfleet-agent index on bad input", () => {
  it("indexes the readable captures and reports the corrupt ones", async () => {
    const state = join(work, "state");
    const result = await agent(["index", "--store", store, "--state", state]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(
      `skipped ${join(store, "ring-2.pcap")}: caplen 2147418112 exceeds the maximum`,
    );
    expect(result.stdout.toString()).toMatch(
      /^index: 3 files \(3 built, 0 extended, 0 fresh, 0 open\), 900 packets, .* 2 skipped, state /m,
    );
    const sliced = await agent(["slice", "--store", store, "--state", state, "--filter", "udp", "-w", out()]);
    expect(sliced.code).toBe(0);
    const missing = await agent(["index", "--store", join(work, "nope")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`pcapfleet-agent index: store not found: ${join(work, "nope")}\n`);
  });
});
