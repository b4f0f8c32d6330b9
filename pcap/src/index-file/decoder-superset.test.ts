/**
 * Property test of the candidate algebra against a brute-force reference: random plans (and/or
 * trees of host, net, IPv6 prefix, port range, protocol and VLAN terms, with values taken from
 * the traffic or random) must return every record whose decoded packet satisfies the plan.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { createDecodedPacket, decodeFrame } from "../decode/index.js";
import { classicFixture } from "../format/index.js";
import type { FilterPlan, IndexTerm } from "../plan/filter-terms.js";
import { buildIndex } from "./build.js";
import { type CorpusRecord, decoderMatches, ethernetCorpus, readRecords } from "./corpus.test-support.js";

const dir = mkdtempSync(join(tmpdir(), "pcapfleet-index-decoder-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const path = join(dir, "corpus.pcap");
writeFileSync(path, classicFixture(ethernetCorpus(1500, 21), { variant: "nsec-le" }));
const ready = Promise.all([readRecords(path), buildIndex(path)]);

/** Terms built from the keys the decoder finds in `records`. */
function observedTerms(records: readonly CorpusRecord[]): IndexTerm[] {
  const d = createDecodedPacket();
  const terms: IndexTerm[] = [{ kind: "vlan", id: undefined }];
  for (const r of records) {
    decodeFrame(r.data, 0, r.data.length, r.data.length, r.linkType, d);
    if (d.srcOffset >= 0 && d.l3 !== "ipv6") {
      terms.push({ kind: "ip4", from: d.src4, to: d.src4 });
      const net = d.dst4 - (d.dst4 % 256);
      terms.push({ kind: "ip4", from: net, to: net + 255 });
    }
    if (d.srcOffset >= 0 && d.l3 === "ipv6") {
      const address = Uint8Array.from(d.buf.subarray(d.srcOffset, d.srcOffset + 16));
      terms.push({ kind: "ip6", prefix: address, bits: 128 }, { kind: "ip6", prefix: address, bits: 64 });
    }
    if (d.srcPort >= 0) terms.push({ kind: "port", from: d.srcPort, to: d.srcPort });
    if (d.dstPort >= 0) terms.push({ kind: "port", from: Math.max(0, d.dstPort - 3), to: d.dstPort + 3 });
    if (d.ipProto >= 0) terms.push({ kind: "proto", value: d.ipProto });
    if (d.vlanCount > 0) terms.push({ kind: "vlan", id: d.vlanIds[d.vlanCount > 1 ? 1 : 0] });
  }
  return terms;
}

const randomTerm: fc.Arbitrary<IndexTerm> = fc.oneof(
  fc.tuple(fc.nat(0xffffffff), fc.integer({ min: 8, max: 32 })).map(([v, bits]): IndexTerm => {
    const size = 2 ** (32 - bits);
    const from = Math.floor(v / size) * size;
    return { kind: "ip4", from, to: from + size - 1 };
  }),
  fc
    .tuple(fc.nat(65535), fc.nat(2000))
    .map(([p, span]): IndexTerm => ({ kind: "port", from: p, to: Math.min(65535, p + span) })),
  fc.nat(255).map((value): IndexTerm => ({ kind: "proto", value })),
  fc.nat(4095).map((id): IndexTerm => ({ kind: "vlan", id })),
  fc
    .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 8, max: 128 }))
    .map(([prefix, bits]): IndexTerm => ({ kind: "ip6", prefix, bits })),
);

function planOf(term: fc.Arbitrary<IndexTerm>): fc.Arbitrary<FilterPlan> {
  const { plan } = fc.letrec<{ plan: FilterPlan }>((tie) => ({
    plan: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      term.map((t): FilterPlan => ({ kind: "term", term: t })),
      fc.constant<FilterPlan>({ kind: "all" }),
      fc.record({
        kind: fc.constantFrom("and" as const, "or" as const),
        left: tie("plan"),
        right: tie("plan"),
      }),
    ),
  }));
  return plan;
}

function truth(plan: FilterPlan, record: CorpusRecord): boolean {
  switch (plan.kind) {
    case "all":
      return true;
    case "term":
      return decoderMatches(record, plan.term);
    case "and":
      return truth(plan.left, record) && truth(plan.right, record);
    case "or":
      return truth(plan.left, record) || truth(plan.right, record);
  }
}

describe("candidates ⊇ decoder brute force", () => {
  it("holds for random plans over observed and random keys", async () => {
    const [records, index] = await ready;
    const observed = observedTerms(records);
    const term = fc.oneof(fc.constantFrom(...observed), randomTerm);
    let narrowed = 0;
    fc.assert(
      fc.property(planOf(term), (plan) => {
        const answer = index.candidates(plan);
        if (answer.kind === "all") return;
        narrowed++;
        const listed = new Set(answer.offsets);
        for (let i = 1; i < answer.offsets.length; i++) {
          expect(answer.offsets[i] as number).toBeGreaterThan(answer.offsets[i - 1] as number);
        }
        const missed = records.filter((r) => truth(plan, r) && !listed.has(r.offset));
        expect(missed.map((r) => r.offset)).toEqual([]);
      }),
      { numRuns: 150, seed: 42 },
    );
    // The property must actually have exercised offset answers, not just "all".
    expect(narrowed).toBeGreaterThan(50);
  });

  it("lists exactly the decoded matches for a plain host of the traffic", async () => {
    const [records, index] = await ready;
    const d = createDecodedPacket();
    const first = records.find(
      (r) => decodeFrame(r.data, 0, r.data.length, r.data.length, 1, d).l3 === "ipv4",
    );
    expect(first).toBeDefined();
    const term: IndexTerm = { kind: "ip4", from: d.src4, to: d.src4 };
    const answer = index.candidates({ kind: "term", term });
    if (answer.kind === "all") return; // a dense host: nothing to compare
    const expected = records.filter((r) => decoderMatches(r, term)).map((r) => r.offset);
    // Every decoded match is listed; extra entries are only the cut or malformed copies.
    expect(expected.every((o) => answer.offsets.includes(o))).toBe(true);
    expect(answer.offsets.length).toBeLessThanOrEqual(expected.length * 1.5 + 10);
  });
});
