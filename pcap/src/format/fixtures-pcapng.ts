/**
 * pcapng fixtures: several sections in either byte order, interfaces with any `if_tsresol`
 * (powers of 10 and of 2) and `if_tsoffset`, Enhanced / Simple / obsolete Packet Blocks, and
 * blocks a reader must skip interleaved between packets.
 */
import type { FixturePacket } from "./fixtures.js";

/** Little helper that appends integers in one byte order; fixtures are small, so it just grows. */
export class ByteBuilder {
  private parts: Buffer[] = [];
  private size = 0;
  /** Byte order of the integers appended. */
  readonly le: boolean;

  /** Starts an empty builder writing integers little-endian when `le`, else big-endian. */
  constructor(le: boolean) {
    this.le = le;
  }

  /** Bytes appended so far. */
  get length(): number {
    return this.size;
  }

  /** Appends raw bytes. */
  bytes(data: Uint8Array): this {
    this.parts.push(Buffer.from(data));
    this.size += data.length;
    return this;
  }

  /** Appends `count` zero bytes. */
  zeros(count: number): this {
    return this.bytes(Buffer.alloc(count));
  }

  /** Appends an unsigned 16-bit integer. */
  u16(value: number): this {
    const b = Buffer.alloc(2);
    if (this.le) b.writeUInt16LE(value);
    else b.writeUInt16BE(value);
    return this.bytes(b);
  }

  /** Appends an unsigned 32-bit integer. */
  u32(value: number): this {
    const b = Buffer.alloc(4);
    if (this.le) b.writeUInt32LE(value >>> 0);
    else b.writeUInt32BE(value >>> 0);
    return this.bytes(b);
  }

  /** Appends a signed 64-bit integer. */
  i64(value: bigint): this {
    const b = Buffer.alloc(8);
    if (this.le) b.writeBigInt64LE(value);
    else b.writeBigInt64BE(value);
    return this.bytes(b);
  }

  /** Everything appended, as one Buffer. */
  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}

/** An interface of a fixture section. */
export interface FixtureInterface {
  /** LINKTYPE_* of its packets. */
  linkType: number;
  /** Snapshot length; default 0 (unlimited). */
  snaplen?: number;
  /** Raw `if_tsresol` byte (high bit: power of 2); omitted means the option is absent (µs). */
  tsresol?: number;
  /** `if_tsoffset` seconds; omitted means the option is absent. */
  tsoffset?: number;
}

/** A packet of a fixture section and how it is stored. */
export interface FixtureNgPacket extends FixturePacket {
  /** Interface id; default 0. */
  interfaceId?: number;
  /**
   * Block kind; default "epb". An "spb" stores no timestamp and no caplen: give it the whole
   * packet (or the packet cut to the snaplen) and expect min(padded length, origLen, snaplen).
   */
  block?: "epb" | "spb" | "pb";
  /** An `opt_comment` option on the EPB or PB, so readers must skip options. */
  comment?: string;
}

/** One section of a fixture. */
export interface FixtureSection {
  /** Byte order of the section; default true. */
  littleEndian?: boolean;
  /** Interfaces, in id order. */
  interfaces: FixtureInterface[];
  /** Packets, in file order. */
  packets: FixtureNgPacket[];
  /** Interleave NRB, ISB, DSB, custom and local-use blocks between packets. Default false. */
  unknownBlocks?: boolean;
  /** Write each IDB just before the first packet that uses it instead of after the SHB. */
  lateInterfaces?: boolean;
}

const pad4 = (n: number): number => (n + 3) & ~3;

/** Time units per second of an `if_tsresol` byte. */
export function unitsPerSecond(tsresol = 6): bigint {
  const exponent = BigInt(tsresol & 0x7f);
  return (tsresol & 0x80) === 0 ? 10n ** exponent : 2n ** exponent;
}

/** The 64-bit timestamp a fixture stores: (time - tsoffset) in the interface's units, truncated. */
export function pcapngUnits(tsSec: number, tsNsec: number, iface: FixtureInterface): bigint {
  const units = unitsPerSecond(iface.tsresol);
  return BigInt(tsSec - (iface.tsoffset ?? 0)) * units + (BigInt(tsNsec) * units) / 1_000_000_000n;
}

/** What a reader must return for a stored 64-bit timestamp (the reference, in BigInt). */
export function pcapngTime(stored: bigint, iface: FixtureInterface): { tsSec: number; tsNsec: number } {
  const units = unitsPerSecond(iface.tsresol);
  return {
    tsSec: Number(stored / units) + (iface.tsoffset ?? 0),
    tsNsec: Number(((stored % units) * 1_000_000_000n) / units),
  };
}

/** Caplen a reader derives for a Simple Packet Block holding `packet`. */
export function simpleCaplen(packet: FixturePacket, iface: FixtureInterface): number {
  const origLen = packet.origLen ?? packet.data.length;
  const snaplen = iface.snaplen ?? 0;
  const caplen = Math.min(pad4(packet.data.length), origLen);
  return snaplen !== 0 && caplen > snaplen ? snaplen : caplen;
}

/** Writes a whole block: type, length, body padded to 4 bytes, trailing length. */
function block(out: ByteBuilder, type: number, body: Buffer): void {
  const length = 12 + pad4(body.length);
  out
    .u32(type)
    .u32(length)
    .bytes(body)
    .zeros(pad4(body.length) - body.length)
    .u32(length);
}

function options(le: boolean, list: ReadonlyArray<readonly [number, Buffer]>): Buffer {
  const out = new ByteBuilder(le);
  for (const [code, value] of list) {
    out
      .u16(code)
      .u16(value.length)
      .bytes(value)
      .zeros(pad4(value.length) - value.length);
  }
  if (list.length > 0) out.u16(0).u16(0);
  return out.toBuffer();
}

function interfaceBlock(out: ByteBuilder, iface: FixtureInterface): void {
  const le = out.le;
  const opts: Array<readonly [number, Buffer]> = [[2, Buffer.from("fixture0")]];
  if (iface.tsresol !== undefined) opts.push([9, Buffer.from([iface.tsresol])]);
  if (iface.tsoffset !== undefined)
    opts.push([14, new ByteBuilder(le).i64(BigInt(iface.tsoffset)).toBuffer()]);
  const body = new ByteBuilder(le)
    .u16(iface.linkType)
    .u16(0)
    .u32(iface.snaplen ?? 0);
  block(out, 1, body.bytes(options(le, opts)).toBuffer());
}

/** Blocks every reader must skip, one per call in rotation. */
function unknownBlock(out: ByteBuilder, turn: number): void {
  const le = out.le;
  const kinds = [
    // NRB: one IPv4 record (type 1, 4-byte address + name), then nrb_record_end.
    () =>
      block(
        out,
        4,
        new ByteBuilder(le)
          .u16(1)
          .u16(9)
          .bytes(Buffer.from([10, 0, 0, 1, 104, 111, 115, 116, 0]))
          .zeros(3)
          .u16(0)
          .u16(0)
          .toBuffer(),
      ),
    // ISB: interface 0, a timestamp, no options.
    () => block(out, 5, new ByteBuilder(le).u32(0).u32(0).u32(0).toBuffer()),
    // DSB: TLS key log secrets.
    () =>
      block(out, 0x0a, new ByteBuilder(le).u32(0x544c534b).u32(5).bytes(Buffer.from("KEYS\n")).toBuffer()),
    // Custom block with a private enterprise number.
    () => block(out, 0xbad, new ByteBuilder(le).u32(32473).bytes(Buffer.from("custom")).toBuffer()),
    // Local-use block type (high bit set).
    () => block(out, 0x80000001, Buffer.from("local use")),
  ];
  kinds[turn % kinds.length]?.();
}

function packetBlock(out: ByteBuilder, p: FixtureNgPacket, iface: FixtureInterface): void {
  const le = out.le;
  const origLen = p.origLen ?? p.data.length;
  if (p.block === "spb") {
    block(out, 3, new ByteBuilder(le).u32(origLen).bytes(p.data).toBuffer());
    return;
  }
  const units = pcapngUnits(p.tsSec, p.tsNsec, iface);
  const body = new ByteBuilder(le);
  if (p.block === "pb") body.u16(p.interfaceId ?? 0).u16(0);
  else body.u32(p.interfaceId ?? 0);
  body.u32(Number(units >> 32n)).u32(Number(units & 0xffffffffn));
  body
    .u32(p.data.length)
    .u32(origLen)
    .bytes(p.data)
    .zeros(pad4(p.data.length) - p.data.length);
  if (p.comment !== undefined) body.bytes(options(le, [[1, Buffer.from(p.comment)]]));
  block(out, p.block === "pb" ? 2 : 6, body.toBuffer());
}

/** A pcapng file made of the given sections. */
export function pcapngFixture(sections: readonly FixtureSection[]): Buffer {
  const parts: Buffer[] = [];
  for (const section of sections) {
    const out = new ByteBuilder(section.littleEndian ?? true);
    const shb = new ByteBuilder(out.le).u32(0x1a2b3c4d).u16(1).u16(0).i64(-1n);
    block(out, 0x0a0d0d0a, shb.bytes(options(out.le, [[4, Buffer.from("pcapfleet fixtures")]])).toBuffer());
    const written = new Set<number>();
    const ensure = (id: number): void => {
      const iface = section.interfaces[id];
      if (iface === undefined || written.has(id)) return;
      interfaceBlock(out, iface);
      written.add(id);
    };
    if (section.lateInterfaces !== true) {
      for (let id = 0; id < section.interfaces.length; id++) ensure(id);
    }
    section.packets.forEach((p, index) => {
      if (section.unknownBlocks === true) unknownBlock(out, index);
      const id = p.block === "spb" ? 0 : (p.interfaceId ?? 0);
      ensure(id);
      packetBlock(out, p, section.interfaces[id] ?? { linkType: 1 });
    });
    if (section.unknownBlocks === true) unknownBlock(out, section.packets.length);
    parts.push(out.toBuffer());
  }
  return Buffer.concat(parts);
}
