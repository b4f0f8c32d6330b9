/**
 * Differential tests against the real tcpdump: for each corpus and expression, the packets
 * `tcpdump -r corpus.pcap -w - EXPR` keeps must be exactly those our JIT (both shapes) and the
 * reference interpreter accept.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { LinkType } from "../types.js";
import { createFilterCompiler } from "./compile.js";
import { interpretFilter } from "./interpreter.js";
import { jitFilter } from "./jit.js";
import { type Frame, pcapFile, recordSeconds } from "./packets.test-support.js";
import { corpora } from "./parity-corpus.test-support.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "pcapfleet-filter-parity-"));
const compiler = createFilterCompiler({ workDir: join(dir, "headers") });
afterAll(() => {
  compiler.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Indices of the frames tcpdump keeps for `expression`. */
async function tcpdumpMatches(file: string, expression: string): Promise<number[]> {
  const { stdout } = await run("tcpdump", ["-r", file, "-w", "-", "--", expression], {
    encoding: "buffer",
    maxBuffer: 64 << 20,
  });
  return recordSeconds(stdout);
}

/** Lays frames out in one buffer at odd offsets, as a reader's chunk would hold them. */
function layout(frames: readonly Frame[]): { buf: Buffer; offsets: number[] } {
  const offsets: number[] = [];
  let size = 3;
  for (const frame of frames) {
    offsets.push(size);
    size += frame.data.length + 5;
  }
  const buf = Buffer.alloc(size, 0xee);
  frames.forEach((frame, i) => {
    buf.set(frame.data, offsets[i]);
  });
  return { buf, offsets };
}

for (const corpus of corpora) {
  describe(`parity with tcpdump on ${corpus.name}`, () => {
    const file = join(dir, `${corpus.name}.pcap`);
    const byteOrder = corpus.bigEndian === true ? "BE" : "LE";
    writeFileSync(file, pcapFile(corpus.linkType, corpus.frames, 262_144, corpus.bigEndian));
    const { buf, offsets } = layout(corpus.frames);

    it.each(corpus.expressions)("%s", async (expression) => {
      const [expected, program] = await Promise.all([
        tcpdumpMatches(file, expression),
        compiler.compile(expression, corpus.linkType, undefined, byteOrder),
      ]);
      const engines = {
        blocks: jitFilter(program, { strategy: "blocks" }),
        switch: jitFilter(program, { strategy: "switch" }),
        interpreter: interpretFilter(program),
      };
      for (const [name, predicate] of Object.entries(engines)) {
        const got = corpus.frames.flatMap((frame, i) =>
          predicate(buf, offsets[i] ?? 0, frame.data.length, frame.origLen) ? [i] : [],
        );
        expect(got, `${name} on ${corpus.name}`).toEqual(expected);
      }
      // Guard against a corpus that makes the comparison vacuous.
      if (!corpus.trivial.has(expression)) {
        expect(expected.length, "matches something").toBeGreaterThan(0);
        expect(expected.length, "rejects something").toBeLessThan(corpus.frames.length);
      }
    });
  });
}

describe("corpus sanity", () => {
  it("covers at least 40 expressions on Ethernet and all link types under test", () => {
    const ethernet = corpora.find((c) => c.linkType === LinkType.ETHERNET);
    expect(ethernet?.expressions.length).toBeGreaterThanOrEqual(40);
    expect(new Set(corpora.map((c) => c.linkType))).toEqual(
      new Set([LinkType.ETHERNET, LinkType.RAW, LinkType.LINUX_SLL, LinkType.NULL]),
    );
  });
});
