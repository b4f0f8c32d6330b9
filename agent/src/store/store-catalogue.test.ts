import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { createPcapWriter, LinkType } from "@pcapfleet/pcap";
import { describe, expect, it } from "vitest";
import { age, appendPackets, packets, storeTestBed, waitFor, writeCapture } from "./ring.test-support.js";
import type { StoreCatalogue } from "./types.js";

const bed = storeTestBed("pcapfleet-store-");

function catalogue(dirs: string[], extra: { quietMs?: number; rescanMs?: number } = {}) {
  return bed.open({ dirs, rescanMs: 300, ...extra });
}

const names = (c: StoreCatalogue): string[] => c.files().map((f) => basename(f.path));

describe("live store catalogue", () => {
  it("finds captures by content, follows new, growing and deleted files", async () => {
    const early = packets({ seed: 1, packets: 200 });
    await writeCapture(join(bed.store, "eth0.ring-1"), LinkType.ETHERNET, early);
    mkdirSync(join(bed.store, "sub", "deeper"), { recursive: true });
    await writeCapture(
      join(bed.store, "sub", "deeper", "x.cap"),
      LinkType.ETHERNET,
      packets({ seed: 2, packets: 50 }),
    );
    writeFileSync(join(bed.store, "notes.txt"), "not a capture at all\n");
    const { c } = catalogue([bed.store]);
    let changes = 0;
    c.onChange(() => changes++);
    await c.start();
    expect(names(c).sort()).toEqual(["eth0.ring-1", "x.cap"]);

    // A new file, in a directory created after start.
    mkdirSync(join(bed.store, "later"));
    const late = packets({ seed: 3, packets: 100, start: { sec: 1_700_000_500, nsec: 0 } });
    await writeCapture(join(bed.store, "later", "ring-2"), LinkType.ETHERNET, late);
    await waitFor("new file", () => names(c).includes("ring-2"));
    await waitFor("change notification", () => changes > 0);

    // A file growing while written: picked up, its growth seen, indexed up to its newest packet.
    const growing = packets({ seed: 4, packets: 400, start: { sec: 1_700_001_000, nsec: 0 } });
    const writer = await createPcapWriter(join(bed.store, "ring-3"), {
      linkType: LinkType.ETHERNET,
      nanosecond: true,
    });
    await appendPackets(writer, growing.slice(0, 200));
    await waitFor("growing file", () => names(c).includes("ring-3"));
    await appendPackets(writer, growing.slice(200));
    const size = writer.bytesWritten;
    await waitFor("growth", () => c.files().find((f) => basename(f.path) === "ring-3")?.size === size);
    const last = growing[growing.length - 1] as { tsSec: number; tsNsec: number };
    const lastNs = BigInt(last.tsSec) * 1_000_000_000n + BigInt(last.tsNsec);
    await waitFor("indexed growth", () => c.stores()[0]?.pcap.newestPacketNs === lastNs);
    await writer.close();

    // Merge order: by first packet.
    expect(names(c)).toEqual(
      ["eth0.ring-1", "x.cap", "ring-2", "ring-3"].sort((a, b) => order(a) - order(b)),
    );

    // A deleted file leaves on its watch event, well before the next rescan.
    const before = changes;
    const t0 = Date.now();
    rmSync(join(bed.store, "eth0.ring-1"));
    await waitFor("deletion", () => !names(c).includes("eth0.ring-1"), 250);
    expect(Date.now() - t0).toBeLessThan(250);
    await waitFor("deletion notified", () => changes > before);
    rmSync(join(bed.store, "later"), { recursive: true });
    await waitFor("directory deletion", () => !names(c).includes("ring-2"), 250);
    expect(c.stores()[0]).toMatchObject({ state: "ok", error: "", corruptFiles: 0 });
  });

  it("skips corrupt files, counts them, logs each once and marks the store degraded", async () => {
    const good = packets({ seed: 5, packets: 100 });
    await writeCapture(join(bed.store, "good.pcap"), LinkType.ETHERNET, good);
    // A broken first record: refused when probed.
    await writeCapture(join(bed.store, "bad-head.pcap"), LinkType.ETHERNET, good.slice(0, 5));
    const head = Buffer.alloc(24 + 16);
    head.writeUInt32LE(0xa1b2c3d4, 0);
    head.writeUInt16LE(2, 4);
    head.writeUInt16LE(4, 6);
    head.writeUInt32LE(65535, 16);
    head.writeUInt32LE(1, 20);
    head.writeUInt32LE(1_700_000_000, 24);
    head.writeUInt32LE(0x7fff_ffff, 32); // caplen beyond any limit
    head.writeUInt32LE(60, 36);
    writeFileSync(join(bed.store, "bad-head.pcap"), head);
    // Good first records, garbage later: refused when indexed.
    await writeCapture(join(bed.store, "bad-tail.pcap"), LinkType.ETHERNET, good.slice(0, 20));
    writeFileSync(
      join(bed.store, "bad-tail.pcap"),
      Buffer.concat([head.subarray(24), Buffer.alloc(64, 0xff)]),
      {
        flag: "a",
      },
    );
    for (const name of ["good.pcap", "bad-head.pcap", "bad-tail.pcap"]) age(join(bed.store, name));

    const { c, lines } = catalogue([bed.store]);
    await c.start();
    await waitFor("corrupt files counted", () => c.stores()[0]?.corruptFiles === 2);
    expect(names(c)).toEqual(["good.pcap"]);
    const report = c.stores()[0];
    expect(report?.state).toBe("degraded");
    expect(report?.error).toContain("bad-head.pcap");
    expect(report?.error).toContain("bad-tail.pcap");
    // Several rescans later: still counted, still logged once each.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(c.stores()[0]?.corruptFiles).toBe(2);
    const warned = lines
      .filter((l) => l["msg"] === "corrupt capture file skipped")
      .map((l) => basename(String(l["file"])));
    expect(warned.sort()).toEqual(["bad-head.pcap", "bad-tail.pcap"]);
    // Removing them heals the store.
    rmSync(join(bed.store, "bad-head.pcap"));
    rmSync(join(bed.store, "bad-tail.pcap"));
    await waitFor("healed", () => c.stores()[0]?.state === "ok");
  });

  it("reports missing and unreadable stores, keeps serving the others, and retries", async () => {
    await writeCapture(join(bed.store, "a.pcap"), LinkType.ETHERNET, packets({ seed: 6, packets: 10 }));
    const missing = join(bed.root, "not-yet");
    // Root reads any directory, so "unreadable" is tested with a path readdir refuses for root too.
    const notADir = join(bed.root, "plain-file");
    writeFileSync(notADir, "x");
    const { c, lines } = catalogue([missing, notADir, bed.store]);
    await c.start();
    const [m, u, ok] = c.stores();
    expect(m).toMatchObject({ path: missing, state: "missing", disk: undefined });
    expect(m?.error).toContain("does not exist");
    expect(u).toMatchObject({ path: notADir, state: "unreadable" });
    expect(u?.error).toContain("not a directory");
    expect(ok).toMatchObject({ state: "ok", pcap: { files: 1 } });
    expect(ok?.disk?.sizeBytes).toBeGreaterThan(0);
    expect(names(c)).toEqual(["a.pcap"]);
    expect(lines.filter((l) => l["msg"] === "store not usable; retrying on rescan")).toHaveLength(2);

    mkdirSync(missing);
    await writeCapture(join(missing, "b.pcap"), LinkType.ETHERNET, packets({ seed: 7, packets: 10 }));
    await waitFor("store appeared", () => c.stores()[0]?.state === "ok" && names(c).includes("b.pcap"));
    expect(c.stores()[0]?.pcap.files).toBe(1);
  });

  it("pins nest and release once", async () => {
    const { c } = catalogue([bed.store]);
    await c.start();
    const a = c.pin(["/r/x", "/r/y"]);
    const b = c.pin(["/r/x"]);
    a();
    a();
    expect(c.isPinned("/r/x")).toBe(true);
    expect(c.isPinned("/r/y")).toBe(false);
    b();
    expect(c.isPinned("/r/x")).toBe(false);
  });

  it("closes cleanly: no more events, indexing stopped", async () => {
    for (let i = 0; i < 4; i++) {
      await writeCapture(
        join(bed.store, `f${i}`),
        LinkType.ETHERNET,
        packets({ seed: 10 + i, packets: 3000 }),
      );
    }
    const { c } = catalogue([bed.store]);
    let changes = 0;
    c.onChange(() => changes++);
    await c.start();
    await c.close();
    expect(c.indexing()).toBeUndefined();
    const seen = changes;
    await writeCapture(join(bed.store, "after"), LinkType.ETHERNET, packets({ seed: 20, packets: 10 }));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(names(c)).not.toContain("after");
    expect(changes).toBe(seen);
    await c.close();
  });
});

function order(name: string): number {
  return { "eth0.ring-1": 0, "x.cap": 1, "ring-2": 2, "ring-3": 3 }[name] ?? 9;
}
