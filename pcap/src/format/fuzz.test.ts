/**
 * Property: whatever damage a valid capture suffers, reading it to the end either succeeds or
 * fails with a PcapFormatError, terminates, and keeps the read buffer within a fixed bound.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_CAPLEN, type PacketRecord, PcapFormatError } from "../types.js";
import { type ClassicVariant, classicFixture, type FixturePacket, pcapngFixture } from "./fixtures.js";
import { openCaptureBuffer } from "./open.js";

const packet = fc.record({
  data: fc.uint8Array({ minLength: 0, maxLength: 300 }).map((a) => Buffer.from(a)),
  tsSec: fc.nat({ max: 0xffff_ffff }),
  tsNsec: fc.nat({ max: 999_999_999 }),
});

const classic = fc
  .tuple(
    fc.constantFrom<ClassicVariant>("usec-le", "usec-be", "nsec-le", "nsec-be"),
    fc.array(packet, { maxLength: 12 }),
  )
  .map(([variant, packets]) => classicFixture(packets, { variant }));

const pcapng = fc
  .array(
    fc.record({
      littleEndian: fc.boolean(),
      unknownBlocks: fc.boolean(),
      resolutions: fc.array(fc.constantFrom(3, 6, 9, 12, 0x80 | 10, 0x80 | 40), {
        minLength: 1,
        maxLength: 3,
      }),
      packets: fc.array(
        fc.record({ p: packet, iface: fc.nat({ max: 2 }), block: fc.constantFrom("epb", "spb", "pb") }),
        { maxLength: 8 },
      ),
    }),
    { minLength: 1, maxLength: 3 },
  )
  .map((sections) =>
    pcapngFixture(
      sections.map((s) => ({
        littleEndian: s.littleEndian,
        unknownBlocks: s.unknownBlocks,
        interfaces: s.resolutions.map((tsresol) => ({ linkType: 1, tsresol })),
        packets: s.packets.map(({ p, iface, block }) => ({
          ...(p satisfies FixturePacket),
          // Keep timestamps storable at the finest resolutions so the valid input is valid.
          tsSec: p.tsSec % 1_000_000,
          interfaceId: iface % s.resolutions.length,
          block: block as "epb" | "spb" | "pb",
        })),
      })),
    ),
  );

/** Where the structure of a valid capture is. */
interface Layout {
  /** Offsets of header fields. */
  fields: number[];
  /** Offsets of records (classic) or blocks (pcapng). */
  blocks: number[];
}

/**
 * Offsets of the header fields of a valid capture (record caplen/origLen; block lengths,
 * trailers, ids, option headers): damage there exercises the validation paths, where random
 * bytes mostly hit packet data.
 */
function layoutOf(valid: Buffer): Layout {
  const fields: number[] = [];
  const blocks: number[] = [];
  const magic = valid.readUInt32LE(0);
  if (magic !== 0x0a0d0d0a) {
    const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
    for (
      let pos = 24;
      pos + 16 <= valid.length;
      pos += 16 + (le ? valid.readUInt32LE(pos + 8) : valid.readUInt32BE(pos + 8))
    ) {
      fields.push(pos + 8, pos + 12);
      blocks.push(pos);
    }
    return { fields, blocks };
  }
  let le = true;
  for (let pos = 0; pos + 12 <= valid.length; ) {
    if (valid.readUInt32LE(pos) === 0x0a0d0d0a) le = valid.readUInt32LE(pos + 8) === 0x1a2b3c4d;
    const length = le ? valid.readUInt32LE(pos + 4) : valid.readUInt32BE(pos + 4);
    for (const k of [0, 4, 8, 12, 16, 18, 20, 24]) if (k < length - 4) fields.push(pos + k);
    fields.push(pos + length - 4);
    blocks.push(pos);
    pos += length;
  }
  return { fields, blocks };
}

const nasty32 = fc.constantFrom(
  0,
  4,
  12,
  13,
  16,
  20,
  28,
  32,
  0xffff_ffff,
  0x8000_0000,
  262_145,
  16 * 1024 * 1024 + 4,
);
const nasty16 = fc.constantFrom(0, 1, 8, 9, 14, 0x8000, 0xffff);

type Mutation = (b: Buffer, layout: Layout) => Buffer;

/** Writes `value` as a `width`-byte integer at `where` (clamped into the buffer). */
function overwrite(width: 2 | 4, where: number, value: number, le: boolean): (b: Buffer) => Buffer {
  return (b) => {
    const c = Buffer.from(b);
    if (c.length < width) return c;
    const at = Math.min(where, c.length - width);
    if (width === 4) {
      if (le) c.writeUInt32LE(value, at);
      else c.writeUInt32BE(value, at);
    } else if (le) c.writeUInt16LE(value, at);
    else c.writeUInt16BE(value, at);
    return c;
  };
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // Truncate anywhere.
  fc.nat().map((n) => (b: Buffer) => b.subarray(0, n % (b.length + 1))),
  // Flip a random byte.
  fc.tuple(fc.nat(), fc.nat({ max: 255 })).map(([at, x]) => (b: Buffer) => {
    const c = Buffer.from(b);
    if (c.length > 0) c[at % c.length] = x;
    return c;
  }),
  // Overwrite a header field (length, id, option header) with a hostile value, either width and byte order.
  fc.tuple(fc.nat(), nasty32, fc.boolean()).map(
    ([pick, value, le]) =>
      (b: Buffer, { fields }: Layout) =>
        fields.length === 0 ? b : overwrite(4, fields[pick % fields.length] ?? 0, value, le)(b),
  ),
  fc.tuple(fc.nat(), nasty16, fc.boolean(), fc.boolean()).map(
    ([pick, value, le, high]) =>
      (b: Buffer, { fields }: Layout) =>
        fields.length === 0
          ? b
          : overwrite(2, (fields[pick % fields.length] ?? 0) + (high ? 2 : 0), value, le)(b),
  ),
  // Shrink a block to a small, self-consistent length (leading and trailing lengths agree), so
  // the per-block minimum sizes are what stops it.
  fc
    .tuple(fc.nat(), fc.constantFrom(12, 16, 20, 24, 28), fc.boolean())
    .map(([pick, length, le]) => (b: Buffer, { blocks }: Layout) => {
      const start = blocks[pick % Math.max(1, blocks.length)] ?? 0;
      return overwrite(4, start + length - 4, length, le)(overwrite(4, start + 4, length, le)(b));
    }),
  // Insert garbage.
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 40 })).map(([at, junk]) => (b: Buffer) => {
    const where = at % (b.length + 1);
    return Buffer.concat([b.subarray(0, where), junk, b.subarray(where)]);
  }),
  // Delete a stretch.
  fc.tuple(fc.nat(), fc.nat({ max: 64 })).map(([at, count]) => (b: Buffer) => {
    const where = at % (b.length + 1);
    return Buffer.concat([b.subarray(0, where), b.subarray(where + count)]);
  }),
);

/** What every record handed out must satisfy, however damaged the file. */
function sane(rec: PacketRecord, fileLength: number): boolean {
  return (
    Number.isInteger(rec.caplen) &&
    rec.caplen >= 0 &&
    rec.caplen <= MAX_CAPLEN &&
    rec.dataOffset >= 0 &&
    rec.dataOffset + rec.caplen <= rec.buf.length &&
    rec.caplen <= rec.recordLength &&
    rec.fileOffset >= 0 &&
    rec.fileOffset + rec.recordLength <= fileLength &&
    rec.tsNsec >= 0 &&
    rec.tsNsec < 1_000_000_000 &&
    Number.isInteger(rec.tsSec)
  );
}

/** Reads everything; returns the error thrown, if any. */
async function readToEnd(bytes: Buffer, chunkSize: number, batch: boolean): Promise<unknown> {
  try {
    const reader = await openCaptureBuffer(bytes, { chunkSize });
    const bound = Math.max(chunkSize, 2 * bytes.length, 64);
    let steps = 0;
    const check = (rec: PacketRecord | null): void => {
      steps += 1;
      // Every record takes at least 12 bytes, so more steps than that means a loop that never ends.
      if (steps > bytes.length + 2) throw new Error("reader does not terminate");
      if (reader.bufferSize > bound)
        throw new Error(`buffer grew to ${reader.bufferSize} for ${bytes.length}`);
      if (rec !== null && !sane(rec, bytes.length))
        throw new Error(`insane record ${JSON.stringify({ ...rec, buf: 0 })}`);
    };
    if (batch) {
      while ((await reader.readBatch(check)) > 0) check(null);
    } else {
      for (let rec = await reader.next(); rec !== null; rec = await reader.next()) check(rec);
    }
    check(null);
    return undefined;
  } catch (error) {
    return error;
  }
}

describe("reading damaged captures", () => {
  it("fails only with PcapFormatError and never balloons", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(classic, pcapng),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.constantFrom(32, 100, 4096, 1 << 20),
        fc.boolean(),
        async (valid, mutations, chunkSize, batch) => {
          const layout = layoutOf(valid);
          const damaged = mutations.reduce((b, m) => m(b, layout), valid);
          const error = await readToEnd(damaged, chunkSize, batch);
          if (error !== undefined && !(error instanceof PcapFormatError)) throw error;
        },
      ),
      { numRuns: 4000 },
    );
  });

  it("reads every undamaged generated capture without error", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(classic, pcapng), fc.constantFrom(32, 4096), async (valid, chunkSize) => {
        expect(await readToEnd(valid, chunkSize, true)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });
});
