/**
 * Index files read piece by piece for a query (IndexView): the same answers as the whole index,
 * through either file-operation flavour; only the meta part and the posting lists a filter
 * needs are read; a damaged meta part reads as no index (and the file goes), a damaged list is
 * reported when it is read, and a list that is not read does not matter.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classicFixture } from "../format/index.js";
import { planFilter } from "../plan/filter-terms.js";
import { buildIndex } from "./build.js";
import { IndexFormatError } from "./codec.js";
import { ip4Text, trafficPackets } from "./corpus.test-support.js";
import { asyncIndexFs, type IndexFs, syncIndexFs } from "./index-fs.js";
import { FIRST_READ } from "./index-view.js";
import { loadIndex, openIndexView, saveIndex } from "./store.js";

const root = await mkdtemp(join(tmpdir(), "pcapfleet-index-view-"));
afterAll(() => rm(root, { recursive: true, force: true }));

const START = 1_700_000_000;
let capture: string;
let state: string;
let indexFile: string;
let hosts: string[];

beforeAll(async () => {
  await mkdir(join(root, "captures"));
  capture = join(root, "captures", "ring.pcap");
  state = join(root, "state");
  const packets = trafficPackets({ packets: 20_000, hosts: 60, subnets: 6, vlanShare: 0.2, ipv6Share: 0.2 });
  await writeFile(capture, classicFixture(packets, { variant: "nsec-le" }));
  const index = await buildIndex(capture);
  indexFile = await saveIndex(state, index);
  // The sparse IPv4 keys, most frequent first.
  const ip4 = index.families.ip4;
  hosts = Array.from({ length: ip4.size }, (_, i) => i)
    .filter((i) => ip4.dense[i] === 0)
    .sort((a, b) => (ip4.counts[b] as number) - (ip4.counts[a] as number))
    .map((i) => ip4Text(ip4.keys[i] as number));
});

/** An IndexFs that counts the bytes read through it. */
function counting(fs: IndexFs): IndexFs & { bytes: number } {
  const counter = {
    bytes: 0,
    realpath: fs.realpath,
    stat: fs.stat,
    async open(path: string) {
      const file = await fs.open(path);
      return {
        read: async (target: Uint8Array, offset: number, length: number, position: number) => {
          const n = await file.read(target, offset, length, position);
          if (path.endsWith(".pfidx")) counter.bytes += n;
          return n;
        },
        close: () => file.close(),
      };
    },
  };
  return counter;
}

describe("IndexView", () => {
  it("answers as the whole index does, through either file-operation flavour", async () => {
    const whole = await loadIndex(state, capture);
    if (whole === undefined) throw new Error("no index");
    const expressions = [
      `host ${hosts[0]}`,
      `host ${hosts.at(-1)} and tcp`,
      `host ${hosts[1]} or host ${hosts[2]}`,
      "tcp port 443",
      "udp and port 53",
      "vlan",
      "ip6 net 2001:db8::/32",
      "net 10.0.0.0/8 and not tcp",
      "host 203.0.113.250",
      // Key ranges that overlap or touch: one read of the lists of each run of keys.
      `host ${hosts[0]} or host ${hosts[0]}`,
      `net 10.0.0.0/8 or host ${hosts[3]}`,
      "portrange 1000-2000 or portrange 1500-3000 or port 3001",
      "",
    ];
    for (const fs of [asyncIndexFs, syncIndexFs]) {
      const view = await openIndexView(state, capture, { fs });
      if (view === undefined) throw new Error("no view");
      try {
        expect(view.header).toEqual(whole.header);
        for (const e of expressions)
          expect(await view.candidates(planFilter(e)), e).toEqual(whole.candidates(planFilter(e)));
        const h = whole.header;
        for (const [from, to] of [
          [0, 2 ** 40],
          [h.minSec, h.minSec + 1],
          [h.maxSec, h.maxSec + 1],
          [START - 10, START],
        ] as const) {
          expect(view.blocksInWindow(from, 0, to, 0)).toEqual(whole.blocksInWindow(from, 0, to, 0));
        }
      } finally {
        await view.close();
      }
    }
  });

  it("reads the meta part and the lists the filter needs, not the whole file", async () => {
    const bytes = await readFile(indexFile);
    const whole = await loadIndex(state, capture);
    if (whole === undefined) throw new Error("no index");
    const fs = counting(asyncIndexFs);
    const view = await openIndexView(state, capture, { fs });
    if (view === undefined) throw new Error("no view");
    const meta = fs.bytes;
    expect(meta).toBe(Math.max(FIRST_READ, bytes.readUInt32LE(8)));
    const host = hosts.at(-1) as string;
    await view.candidates(planFilter(`host ${host} and tcp`));
    await view.close();
    // The host's list and nothing else: `tcp` is dense, it needs no list.
    const ip4 = whole.families.ip4;
    const key = Array.from({ length: ip4.size }, (_, i) => i).find(
      (i) => ip4Text(ip4.keys[i] as number) === host,
    );
    if (key === undefined) throw new Error("no key");
    expect(fs.bytes - meta).toBe((ip4.offsets[key + 1] as number) - (ip4.offsets[key] as number));
    expect(fs.bytes).toBeLessThan(bytes.length / 4);
    // A filter the index cannot narrow reads no list at all.
    const again = counting(syncIndexFs);
    const other = await openIndexView(state, capture, { fs: again });
    await other?.candidates(planFilter("tcp"));
    await other?.close();
    expect(again.bytes).toBe(meta);
  });

  it("reports a damaged list when reading it, and ignores one it does not read", async () => {
    const good = await readFile(indexFile);
    const whole = await loadIndex(state, capture);
    if (whole === undefined) throw new Error("no index");
    // The postings of the first family start right after the meta part (its length at offset 8).
    const ip4 = whole.families.ip4;
    const busiest = hosts[0] as string;
    const key = Array.from({ length: ip4.size }, (_, i) => i).find(
      (i) => ip4Text(ip4.keys[i] as number) === busiest,
    );
    if (key === undefined) throw new Error("no key");
    const at = good.readUInt32LE(8) + (ip4.offsets[key] as number);
    const damaged = Buffer.from(good);
    damaged[at] = (damaged[at] ?? 0) ^ 0x40;
    await writeFile(indexFile, damaged);
    try {
      const view = await openIndexView(state, capture);
      if (view === undefined) throw new Error("no view");
      await expect(view.candidates(planFilter(`host ${busiest}`))).rejects.toBeInstanceOf(IndexFormatError);
      const quiet = hosts.at(-1) as string;
      expect(await view.candidates(planFilter(`host ${quiet}`))).toEqual(
        whole.candidates(planFilter(`host ${quiet}`)),
      );
      await view.close();
      // Loading the whole file checks every byte.
      expect(await loadIndex(state, capture)).toBeUndefined();
    } finally {
      await writeFile(indexFile, good);
    }
  });

  it("reads a damaged meta part, another version or a stale capture as no index, and deletes the file", async () => {
    const good = await readFile(indexFile);
    const cases: [string, Buffer][] = [
      ["meta byte", Buffer.from(good).fill(0x55, 40, 41)],
      ["version", Buffer.from(good).fill(9, 4, 5)],
      ["truncated meta", good.subarray(0, 200)],
      [
        "huge meta length",
        (() => {
          const bytes = Buffer.from(good);
          bytes.writeUInt32LE(0xffff_fff0, 8);
          return bytes;
        })(),
      ],
      ["empty", Buffer.alloc(0)],
    ];
    for (const [label, bytes] of cases) {
      await writeFile(indexFile, bytes);
      expect(await openIndexView(state, capture), label).toBeUndefined();
      expect(existsSync(indexFile), label).toBe(false);
    }
    await writeFile(indexFile, good);
    const original = await readFile(capture);
    try {
      await writeFile(capture, Buffer.concat([original.subarray(0, 24), original.subarray(40)]));
      expect(await openIndexView(state, capture)).toBeUndefined();
      expect(existsSync(indexFile)).toBe(false);
    } finally {
      await writeFile(capture, original);
      await writeFile(indexFile, good);
    }
  });
});
