/**
 * Estimate and GetStatus over a real grpc-js server: counts against real slices (exact without
 * a filter over indexed files, an upper bound with one), coverage cases, files without an
 * index, and bad input.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { GrpcStatus } from "@pcapfleet/core";
import { MemorySink, sliceStore } from "@pcapfleet/pcap";
import { Coverage } from "@pcapfleet/proto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type FixedCatalogue,
  fixedCatalogue,
  hostV4Of,
  indexRing,
  instant,
  ns,
  type ServedCapture,
  START,
  serviceSuite,
  writeRing,
} from "./service.test-support.js";

const OPTIONS = { seed: 8, packets: 8000, ratePps: 500, ipv6Share: 0.3, start: { sec: START, nsec: 0 } };
const hostV4 = hostV4Of(OPTIONS, 4);

const suite = serviceSuite("pcapfleet-estimate-");
let indexed: FixedCatalogue;
let plain: FixedCatalogue;
let served: ServedCapture;
let servedPlain: ServedCapture;
let servedEmpty: ServedCapture;

beforeAll(async () => {
  const { work, stateDir } = suite;
  await writeRing(join(work, "indexed"), OPTIONS, 5, ["nsec-le", "usec-be", "usec-le"]);
  await writeRing(join(work, "plain"), OPTIONS, 5, ["nsec-le"]);
  await mkdir(join(work, "empty"));
  await indexRing([join(work, "indexed")], stateDir);
  indexed = await fixedCatalogue([join(work, "indexed")]);
  plain = await fixedCatalogue([join(work, "plain")]);
  served = await suite.serve(indexed);
  servedPlain = await suite.serve(plain);
  servedEmpty = await suite.serve(await fixedCatalogue([join(work, "empty")]));
});

async function actual(catalogue: FixedCatalogue, from: bigint, to: bigint, filter: string) {
  const sink = new MemorySink();
  const result = await sliceStore({
    files: catalogue.files(),
    from: instant(from),
    to: instant(to),
    filter,
    stateDir: suite.stateDir,
    output: sink,
  });
  return { packets: result.packets, bytes: sink.length };
}

describe("Estimate counts", () => {
  it.each([
    ["whole ring", ns(START - 1), ns(START + 100)],
    ["middle window cutting blocks", ns(START + 3, 123_456_789), ns(START + 11, 987_654_321)],
    ["a short window", ns(START + 7), ns(START + 7, 400_000_000)],
  ])("%s without a filter: exact, equal to the slice", async (_name, from, to) => {
    const estimate = await served.client.estimate({ window: { startNs: from, endNs: to } });
    const real = await actual(indexed, from, to, "");
    expect(real.packets).toBeGreaterThan(0);
    expect(estimate.exact).toBe(true);
    expect(estimate.packets).toBe(BigInt(real.packets));
    expect(estimate.bytes).toBe(BigInt(real.bytes));
  });

  it("counts the files the window touches", async () => {
    const all = await served.client.estimate({ window: { startNs: ns(START - 1), endNs: ns(START + 100) } });
    expect(all.files).toBe(5n);
    // Each file holds 1600 packets (~3.2 s): a window inside the second file touches one.
    const one = await served.client.estimate({
      window: { startNs: ns(START + 4), endNs: ns(START + 4, 500_000_000) },
    });
    expect(one.files).toBe(1n);
  });

  it.each(["tcp port 443", `host ${hostV4}`, "udp and not port 53", "ip6 and tcp"])(
    "with filter '%s': an upper bound, not exact",
    async (filter) => {
      const from = ns(START + 2);
      const to = ns(START + 13);
      const estimate = await served.client.estimate({ window: { startNs: from, endNs: to }, filter });
      const whole = await served.client.estimate({ window: { startNs: from, endNs: to } });
      const real = await actual(indexed, from, to, filter);
      expect(estimate.exact).toBe(false);
      expect(estimate.packets).toBeGreaterThanOrEqual(BigInt(real.packets));
      expect(estimate.packets).toBeLessThanOrEqual(whole.packets);
    },
  );

  it("narrows a selective filter through the index", async () => {
    const window = { startNs: ns(START), endNs: ns(START + 100) };
    const estimate = await served.client.estimate({ window, filter: `host ${hostV4}` });
    const whole = await served.client.estimate({ window });
    const real = await actual(indexed, window.startNs, window.endNs, `host ${hostV4}`);
    expect(real.packets).toBeGreaterThan(0);
    expect(estimate.packets).toBeLessThan(whole.packets / 4n);
  });

  it("estimates files without an index from size and time span, not exact", async () => {
    const from = ns(START + 2);
    const to = ns(START + 10);
    const estimate = await servedPlain.client.estimate({ window: { startNs: from, endNs: to } });
    const real = await actual(plain, from, to, "");
    expect(estimate.exact).toBe(false);
    expect(Number(estimate.bytes)).toBeGreaterThan(real.bytes * 0.5);
    expect(Number(estimate.bytes)).toBeLessThan(real.bytes * 2);
    expect(Number(estimate.packets)).toBeGreaterThan(real.packets * 0.3);
    expect(Number(estimate.packets)).toBeLessThan(real.packets * 3);
  });

  it("answers in milliseconds", async () => {
    const started = performance.now();
    await served.client.estimate({ window: { startNs: ns(START + 1), endNs: ns(START + 9) }, filter: "tcp" });
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe("Estimate coverage", () => {
  it.each([
    ["inside the ring", ns(START + 1), ns(START + 10), Coverage.COVERED],
    ["over the start", ns(START - 60), ns(START + 5), Coverage.PARTLY_COVERED],
    ["over the end", ns(START + 10), ns(START + 60), Coverage.PARTLY_COVERED],
    ["before the oldest packet", ns(START - 60), ns(START - 30), Coverage.AGED_OUT],
    ["in the future", ns(START + 600), ns(START + 700), Coverage.NO_DATA],
  ])("%s", async (_name, from, to, coverage) => {
    const estimate = await served.client.estimate({ window: { startNs: from, endNs: to } });
    expect(estimate.coverage).toBe(coverage);
  });

  it("an empty store has no data", async () => {
    const estimate = await servedEmpty.client.estimate({
      window: { startNs: ns(START), endNs: ns(START + 1) },
    });
    expect(estimate).toMatchObject({ coverage: Coverage.NO_DATA, packets: 0n, bytes: 0n, files: 0n });
  });
});

describe("bad input and status", () => {
  it("a bad filter is INVALID_ARGUMENT with libpcap's message", async () => {
    const error = await served.client
      .estimate({ window: { startNs: ns(START), endNs: ns(START + 1) }, filter: "host 1.2.3.4.5" })
      .catch((reason: unknown) => reason as { code: number; details: string });
    expect(error).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT });
    expect((error as { details: string }).details).toMatch(/^bad filter 'host 1\.2\.3\.4\.5': /);
  });

  it("a window whose end is not after its start is INVALID_ARGUMENT", async () => {
    const error = await served.client
      .estimate({ window: { startNs: ns(START + 2), endNs: ns(START + 1) } })
      .catch((reason: unknown) => reason as { code: number });
    expect(error).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT });
  });

  it("GetStatus returns the status snapshot", async () => {
    const answer = await served.client.getStatus({});
    expect(answer.status?.identity?.name).toBe("test-sensor");
  });
});
